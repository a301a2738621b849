//! Opt-in use of several cores for minibatch matrix products.
//!
//! Nothing here is global or automatic: code runs on one thread unless it runs inside
//! [`with_threads`]. There, the large matrix products of minibatch passes (and the optimizer
//! updates of large tensors) are split between the threads along dimensions that do not
//! change any sum, so results are bit-for-bit the same whatever the thread count.
//!
//! The helper threads live only for the call to [`with_threads`] and wait for work by
//! spinning, so that handing them a product costs well under a microsecond (a thread that
//! sleeps takes tens of microseconds to wake, longer than a small product takes).

#[cfg(feature = "std")]
use core::sync::atomic::{AtomicUsize, Ordering};
#[cfg(feature = "std")]
use std::{
    any::Any,
    cell::Cell,
    panic::{AssertUnwindSafe, catch_unwind, resume_unwind},
    sync::Mutex,
    sync::atomic::AtomicBool,
};

#[cfg(feature = "std")]
use crate::base::disjoint::DisjointParts;
#[cfg(feature = "std")]
use crate::error::Error;

#[cfg(feature = "std")]
/// A job for the team: called once with each part index `0..parts`, by whichever thread
/// claims the part. Stored with its lifetime erased; see [`Team::run`] for why that is sound.
type Job = *const (dyn Fn(usize) + Sync);

/// The claim word packs the job's generation (the high bits), its number of parts and the
/// next unclaimed part (a byte each: at most [`DisjointParts::MAX_PARTS`] = 64 parts).
#[cfg(feature = "std")]
const PART_BITS: u32 = 8;
#[cfg(feature = "std")]
const PART_MASK: usize = (1 << PART_BITS) - 1;

#[cfg(feature = "std")]
/// The helper threads of one [`with_threads`] call and the slot through which they get work.
///
/// Parts are not assigned to threads: every thread, the caller included, claims the next
/// unclaimed part until none is left. A part computes the same values whichever thread runs
/// it, so results do not change; but a helper that the operating system has descheduled (the
/// machine's other core busy with another program) no longer holds the caller up: the caller
/// runs the parts the helper did not get to. Before, each part belonged to one thread, and a
/// descheduled helper made the caller spin until the helper ran again, for every product of
/// every minibatch: two-thread epochs ran 2.4 to 3 times slower than one thread then.
struct Team {
    helpers: usize,
    /// Generation, part count and next part of the current job (see [`PART_BITS`]); a thread
    /// claims part `k` by moving the next part from `k` to `k + 1` with a compare-exchange,
    /// which fails if another thread got there first or a new job has begun. (A claim that
    /// succeeds is always of the current job, whose word it matched; the generation only
    /// makes a stale claim fail early.)
    claim: AtomicUsize,
    /// Parts of the current job that have finished.
    done: AtomicUsize,
    job: Mutex<Option<SendJob>>,
    stop: AtomicBool,
    panic: Mutex<Option<Box<dyn Any + Send>>>,
}

#[derive(Clone, Copy)]
#[cfg(feature = "std")]
struct SendJob(Job);
// SAFETY: the job is `Sync`, and `Team::run` keeps it alive until every part is done.
#[cfg(feature = "std")]
unsafe impl Send for SendJob {}

#[cfg(feature = "std")]
thread_local! {
    static TEAM: Cell<Option<&'static Team>> = const { Cell::new(None) };
}

#[cfg(feature = "std")]
/// The number of threads that minibatch products may use here (1 outside [`with_threads`]).
pub fn current_threads() -> usize {
    TEAM.with(Cell::get).map_or(1, |team| team.helpers + 1)
}

#[cfg(feature = "std")]
impl Team {
    /// Claims the next part of the job whose claim word was `word`, if one is left: returns
    /// its index.
    #[inline]
    fn try_claim(&self, mut word: usize) -> Option<usize> {
        loop {
            let (parts, next) = ((word >> PART_BITS) & PART_MASK, word & PART_MASK);
            if next >= parts {
                return None;
            }
            match self.claim.compare_exchange_weak(
                word,
                word + 1,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(next),
                Err(now) => word = now,
            }
        }
    }

    /// Runs `job(k)` for every `k` in `0..parts` (at most 64), on the calling thread and the
    /// helpers, and returns when all are done.
    fn run(&self, parts: usize, job: &(dyn Fn(usize) + Sync)) {
        assert!(
            (1..=DisjointParts::<u8>::MAX_PARTS).contains(&parts),
            "{parts} parts"
        );
        // SAFETY: only the lifetime is erased. A helper reads the job only after claiming a
        // part of it (the compare-exchange in `try_claim`, which fails once a newer job has
        // begun) and uses it until it counts that part in `done`; this function does not
        // return (not even by unwinding: the parts run under catch_unwind) until every part
        // is counted in `done`, so no helper touches the job after it is gone.
        let erased: Job = unsafe { core::mem::transmute::<&(dyn Fn(usize) + Sync), Job>(job) };
        *self.job.lock().unwrap_or_else(|p| p.into_inner()) = Some(SendJob(erased));
        self.done.store(0, Ordering::Relaxed);
        let generation = (self.claim.load(Ordering::Relaxed) >> (2 * PART_BITS)) + 1;
        // Release: a helper whose claim succeeds sees the job and `done` stored above.
        self.claim.store(
            (generation << (2 * PART_BITS)) | (parts << PART_BITS),
            Ordering::Release,
        );
        // The caller's parts run without the team, so that a product inside a job (which the
        // library never does) would run serially instead of handing out a job over this one.
        let mut own_panic = None;
        {
            let _restore = Restore(TEAM.with(|t| t.replace(None)));
            while let Some(k) = self.try_claim(self.claim.load(Ordering::Relaxed)) {
                if let Err(payload) = catch_unwind(AssertUnwindSafe(|| job(k))) {
                    own_panic.get_or_insert(payload);
                }
                self.done.fetch_add(1, Ordering::Relaxed);
            }
        }
        let mut spins = 0u32;
        while self.done.load(Ordering::Acquire) < parts {
            spin_wait(&mut spins);
        }
        *self.job.lock().unwrap_or_else(|p| p.into_inner()) = None;
        if let Some(payload) = own_panic {
            resume_unwind(payload);
        }
        if let Some(payload) = self.panic.lock().unwrap_or_else(|p| p.into_inner()).take() {
            resume_unwind(payload);
        }
    }

    /// The loop of a helper: claim parts of whatever job is current, run them, repeat.
    fn serve(&self) {
        let mut spins = 0u32;
        loop {
            if let Some(k) = self.try_claim(self.claim.load(Ordering::Relaxed)) {
                spins = 0;
                let job = *self.job.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(SendJob(job)) = job {
                    // SAFETY: see `run`: the job outlives this part.
                    let job = unsafe { &*job };
                    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| job(k))) {
                        *self.panic.lock().unwrap_or_else(|p| p.into_inner()) = Some(payload);
                    }
                }
                self.done.fetch_add(1, Ordering::Release);
            } else if self.stop.load(Ordering::Acquire) {
                return;
            } else {
                spin_wait(&mut spins);
            }
        }
    }
}

/// Busy-waits briefly, then yields the core now and again so that an oversubscribed machine
/// still makes progress.
#[inline]
#[cfg(feature = "std")]
fn spin_wait(spins: &mut u32) {
    *spins = spins.saturating_add(1);
    if spins.is_multiple_of(1024) {
        std::thread::yield_now();
    } else {
        core::hint::spin_loop();
    }
}

#[cfg(feature = "std")]
/// Runs `job(k)` for `k` in `0..parts` on the threads of the current [`with_threads`] call
/// (or just `job(0)` outside one, where `parts` must be 1).
pub(crate) fn run_parts(parts: usize, job: &(dyn Fn(usize) + Sync)) {
    match TEAM.with(Cell::get) {
        Some(team) if parts > 1 => team.run(parts, job),
        _ => {
            for k in 0..parts {
                job(k);
            }
        }
    }
}

/// Restores the previous team when dropped, also on panic.
/// Without `std` there are no threads: one, always.
#[cfg(not(feature = "std"))]
pub fn current_threads() -> usize {
    1
}

/// Without `std`, parts run one after the other on the calling thread.
#[cfg(not(feature = "std"))]
pub(crate) fn run_parts(parts: usize, job: &(dyn Fn(usize) + Sync)) {
    for k in 0..parts {
        job(k);
    }
}

#[cfg(feature = "std")]
struct Restore(Option<&'static Team>);

#[cfg(feature = "std")]
impl Drop for Restore {
    fn drop(&mut self) {
        TEAM.with(|t| t.set(self.0));
    }
}

#[cfg(feature = "std")]
/// Runs `f` with minibatch matrix products split over `threads` threads: the calling thread
/// and `threads − 1` helpers that exist for the duration of the call.
///
/// Training and inference inside give bit-for-bit the results they give on one thread: each
/// output value is computed by one thread, with its sum in the same order. The helpers spin
/// while they wait for work (for fast hand-offs), so wrap the work that needs them (a `fit`,
/// a batch of inference), not a whole program.
///
/// More threads than the machine has cores would only make the spinning helpers take turns
/// (64 threads on 2 cores ran 40 times slower than one), so `threads` is capped at the
/// number of cores the operating system reports (and at 64); [`current_threads`] inside `f`
/// says how many are used. `threads = 1` runs `f` on the calling thread alone, also inside
/// another `with_threads`.
///
/// # Errors
/// [`Error::InvalidHyperparameter`] for `threads = 0`; [`Error::Threads`] if the operating
/// system refuses to start a thread.
///
/// # Example
/// ```
/// use constnet::{Batch, current_threads, with_threads, nn::{Layer, Linear}};
/// let layer = Linear::<100, 100>::zeros();
/// let x = Batch::<f32, 100>::from_element(256, 1.0);
/// let y1 = layer.predict_batch(&x);
/// let y2 = with_threads(2, || layer.predict_batch(&x))?;
/// assert_eq!(y1, y2);
/// let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
/// assert_eq!(with_threads(1000, current_threads)?, cores.min(64));
/// # Ok::<(), constnet::Error>(())
/// ```
pub fn with_threads<R>(threads: usize, f: impl FnOnce() -> R) -> Result<R, Error> {
    if threads == 0 {
        return Err(Error::InvalidHyperparameter {
            name: "thread count",
            value: 0.0,
            expected: "at least 1",
        });
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    with_team(threads.min(cores).min(DisjointParts::<u8>::MAX_PARTS), f)
}

/// [`with_threads`] without the cap at the core count (for tests of odd thread counts).
#[cfg(feature = "std")]
pub(crate) fn with_team<R>(threads: usize, f: impl FnOnce() -> R) -> Result<R, Error> {
    with_team_starting(threads, threads.saturating_sub(1), f)
}

/// [`with_team`] of `threads` threads of which only `started` helpers are started: for tests,
/// the helpers that are not started stand for helpers that never get a core.
#[cfg(feature = "std")]
fn with_team_starting<R>(
    threads: usize,
    started: usize,
    f: impl FnOnce() -> R,
) -> Result<R, Error> {
    if threads == 1 {
        // No team: products inside run on this thread, even within an outer team.
        let _restore = Restore(TEAM.with(|t| t.replace(None)));
        return Ok(f());
    }
    let team = Team {
        helpers: threads - 1,
        claim: AtomicUsize::new(0),
        done: AtomicUsize::new(0),
        job: Mutex::new(None),
        stop: AtomicBool::new(false),
        panic: Mutex::new(None),
    };
    std::thread::scope(|scope| {
        let team = &team;
        for index in 1..=started.min(threads - 1) {
            std::thread::Builder::new()
                .name(format!("constnet-{index}"))
                .spawn_scoped(scope, move || team.serve())
                .map_err(|e| {
                    team.stop.store(true, Ordering::Release);
                    Error::Threads {
                        threads,
                        message: e.to_string(),
                    }
                })?;
        }
        // SAFETY: only the lifetime is extended to 'static. The reference is removed from
        // the thread-local again (by `Restore`, also on panic) before this scope ends and
        // `team` is dropped, and it never leaves this thread (the thread-local is not
        // shared), so no use of it outlives `team`.
        let shared: &'static Team = unsafe { &*(team as *const Team) };
        let previous = TEAM.with(|t| t.replace(Some(shared)));
        let result = {
            let _restore = Restore(previous);
            catch_unwind(AssertUnwindSafe(f))
        };
        team.stop.store(true, Ordering::Release);
        match result {
            Ok(value) => Ok(value),
            Err(payload) => resume_unwind(payload),
        }
    })
}

#[cfg(feature = "std")]
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_runs_once_and_helpers_share_the_work() {
        let ran = Mutex::new(Vec::new());
        with_team(3, || {
            assert_eq!(current_threads(), 3);
            for job in 0..20 {
                run_parts(3, &|k| {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                    ran.lock()
                        .unwrap()
                        .push((job, k, std::thread::current().id()))
                });
            }
        })
        .unwrap();
        let mut ran = ran.into_inner().unwrap();
        let threads: std::collections::HashSet<_> = ran.iter().map(|r| r.2).collect();
        assert!(threads.len() > 1, "the helpers ran no part");
        ran.sort_by_key(|r| (r.0, r.1));
        let jobs_parts: Vec<_> = ran.iter().map(|r| (r.0, r.1)).collect();
        let expected: Vec<_> = (0..20).flat_map(|j| (0..3).map(move |k| (j, k))).collect();
        assert_eq!(jobs_parts, expected);
        assert_eq!(current_threads(), 1);
    }

    /// More parts than threads: each still runs once.
    #[test]
    fn more_parts_than_threads_all_run() {
        let count = AtomicUsize::new(0);
        let mut buffer = vec![0u32; 70];
        with_team(2, || {
            let parts = DisjointParts::new(&mut buffer, 10, 7);
            run_parts(7, &|k| {
                count.fetch_add(1, Ordering::Relaxed);
                parts.take(k).fill(k as u32 + 1);
            });
        })
        .unwrap();
        assert_eq!(count.into_inner(), 7);
        assert!((0..7).all(|k| {
            buffer[k * 10..(k + 1) * 10]
                .iter()
                .all(|&v| v == k as u32 + 1)
        }));
    }

    /// Regression: each part belonged to one thread, so a helper without a core (the
    /// machine's other core busy elsewhere) held the caller up until it ran again, on every
    /// product: two-thread epochs ran 2.4 to 3 times slower than one thread. A helper that
    /// never runs stands for it here; before the fix this hung (caught by the timeout).
    #[test]
    fn a_helper_that_never_runs_does_not_hold_the_caller_up() {
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buffer = vec![0u8; 64];
            let result = with_team_starting(2, 0, || {
                assert_eq!(current_threads(), 2);
                let parts = DisjointParts::new(&mut buffer, 1, 2);
                run_parts(2, &|k| parts.take(k).fill(k as u8 + 1));
            });
            let _ = sender.send((result.is_ok(), buffer));
        });
        let (ok, buffer) = receiver
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("the caller waited for a helper that never ran");
        assert!(ok);
        assert!(buffer[..32].iter().all(|&v| v == 1) && buffer[32..].iter().all(|&v| v == 2));
    }

    /// Regression: `with_threads(1, ..)` inside `with_threads(3, ..)` reported 3.
    #[test]
    fn one_thread_inside_a_team_is_one_thread() {
        with_team(3, || {
            assert_eq!(with_threads(1, current_threads).unwrap(), 1);
            assert_eq!(current_threads(), 3, "the outer team is back afterwards");
        })
        .unwrap();
    }

    /// Regression: 64 threads on 2 cores were started as asked, and ran 40 times slower.
    #[test]
    fn thread_counts_are_capped_at_the_cores() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(with_threads(64, current_threads).unwrap(), cores.min(64));
        assert_eq!(
            with_threads(usize::MAX, current_threads).unwrap(),
            cores.min(64)
        );
    }

    #[test]
    fn a_panicking_part_reaches_the_caller() {
        let result = std::panic::catch_unwind(|| {
            with_team(2, || run_parts(2, &|k| assert!(k == 0, "part {k} fails"))).unwrap()
        });
        assert!(result.is_err());
        // The thread is usable afterwards, on one thread again.
        assert_eq!(current_threads(), 1);
        assert_eq!(with_team(2, || 7).unwrap(), 7);
    }

    /// Three parts on a machine of any size: training and inference products split three
    /// ways give the one-thread weights bit for bit.
    #[test]
    fn three_way_splits_change_no_bit() {
        use crate::{
            base::linalg::Batch, nn::build::Build, nn::layer::Layer, nn::layers::Linear,
            nn::layers::Relu, nn::loss::SoftmaxCrossEntropy, optim::Adam, train::step::Workspace,
        };
        use rand::{RngExt, SeedableRng};
        type Net = crate::Net![Linear<300, 96>, Relu, Linear<96, 10>];
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        let x = Batch::<f32, 300>::from_fn(96, |_, _| rng.random_range(0.0..1.0));
        let labels: Vec<usize> = (0..96).map(|i| i % 10).collect();
        let run = |threads: usize| {
            let mut net = Net::init(&mut rand::rngs::StdRng::seed_from_u64(1));
            let mut adam = Adam::new(1e-3).unwrap();
            let mut workspace = Workspace::new();
            with_team(threads, || {
                for _ in 0..3 {
                    workspace
                        .step(&mut net, &SoftmaxCrossEntropy, &mut adam, &x, &labels)
                        .unwrap();
                }
                net.predict_batch(&x)
            })
            .unwrap()
        };
        assert_eq!(run(1), run(3));
    }
}
