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

use std::any::Any;
use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::Error;

/// A job for the team: called once with each part index `1..parts` by the helpers (the
/// caller does part 0). Stored with its lifetime erased; see [`Team::run`] for why that is
/// sound.
type Job = *const (dyn Fn(usize) + Sync);

/// The helper threads of one [`with_threads`] call and the slot through which they get work.
struct Team {
    helpers: usize,
    /// Bumped for every job; helpers run the job when they see a new value.
    generation: AtomicUsize,
    /// Helpers that have finished the current job.
    done: AtomicUsize,
    /// Parts of the current job (helpers with an index `>= parts` skip it).
    parts: AtomicUsize,
    job: Mutex<Option<SendJob>>,
    stop: AtomicBool,
    panic: Mutex<Option<Box<dyn Any + Send>>>,
}

#[derive(Clone, Copy)]
struct SendJob(Job);
// SAFETY: the job is `Sync`, and `Team::run` keeps it alive until every helper is done.
unsafe impl Send for SendJob {}

thread_local! {
    static TEAM: Cell<Option<&'static Team>> = const { Cell::new(None) };
}

/// The number of threads that minibatch products may use here (1 outside [`with_threads`]).
pub fn current_threads() -> usize {
    TEAM.with(Cell::get).map_or(1, |team| team.helpers + 1)
}

impl Team {
    /// Runs `job(k)` for every `k` in `0..parts` (`parts` at most the thread count), part 0
    /// on the calling thread, and returns when all are done.
    fn run(&self, parts: usize, job: &(dyn Fn(usize) + Sync)) {
        debug_assert!(parts >= 1 && parts <= self.helpers + 1);
        // SAFETY: only the lifetime is erased. The helpers call the job only between the
        // generation bump below and their increment of `done`, and this function does not
        // return (not even by unwinding: part 0 runs under catch_unwind) until every helper
        // has incremented `done`; so no helper touches the job after it is gone.
        let erased: Job = unsafe { std::mem::transmute::<&(dyn Fn(usize) + Sync), Job>(job) };
        *self.job.lock().unwrap_or_else(|p| p.into_inner()) = Some(SendJob(erased));
        self.parts.store(parts, Ordering::Relaxed);
        self.done.store(0, Ordering::Relaxed);
        self.generation.fetch_add(1, Ordering::Release);
        // Part 0 runs without the team, so that a product inside a job (which the library
        // never does) would run serially instead of handing out a job over this one.
        let own = {
            let _restore = Restore(TEAM.with(|t| t.replace(None)));
            catch_unwind(AssertUnwindSafe(|| job(0)))
        };
        let mut spins = 0u32;
        while self.done.load(Ordering::Acquire) < self.helpers {
            spin_wait(&mut spins);
        }
        *self.job.lock().unwrap_or_else(|p| p.into_inner()) = None;
        if let Err(payload) = own {
            resume_unwind(payload);
        }
        if let Some(payload) = self.panic.lock().unwrap_or_else(|p| p.into_inner()).take() {
            resume_unwind(payload);
        }
    }

    /// The loop of helper `index` (from 1).
    fn serve(&self, index: usize) {
        let mut seen = 0;
        let mut spins = 0u32;
        loop {
            let generation = self.generation.load(Ordering::Acquire);
            if generation != seen {
                seen = generation;
                spins = 0;
                if index < self.parts.load(Ordering::Relaxed) {
                    let job = *self.job.lock().unwrap_or_else(|p| p.into_inner());
                    if let Some(SendJob(job)) = job {
                        // SAFETY: see `run`: the job outlives this call.
                        let job = unsafe { &*job };
                        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| job(index))) {
                            *self.panic.lock().unwrap_or_else(|p| p.into_inner()) = Some(payload);
                        }
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
fn spin_wait(spins: &mut u32) {
    *spins = spins.saturating_add(1);
    if spins.is_multiple_of(1024) {
        std::thread::yield_now();
    } else {
        std::hint::spin_loop();
    }
}

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
struct Restore(Option<&'static Team>);

impl Drop for Restore {
    fn drop(&mut self) {
        TEAM.with(|t| t.set(self.0));
    }
}

/// Runs `f` with minibatch matrix products split over `threads` threads: the calling thread
/// and `threads − 1` helpers that exist for the duration of the call.
///
/// Training and inference inside give bit-for-bit the results they give on one thread: each
/// output value is computed by one thread, with its sum in the same order. `threads = 1`
/// simply runs `f`. The helpers spin while they wait for work (for fast hand-offs), so wrap
/// the work that needs them (a `fit`, a batch of inference), not a whole program.
///
/// # Errors
/// [`Error::InvalidHyperparameter`] for `threads = 0`; [`Error::Threads`] if the operating
/// system refuses to start a thread.
///
/// # Example
/// ```
/// use constnet::{Batch, Layer, Linear, with_threads};
/// let layer = Linear::<100, 100>::zeros();
/// let x = Batch::<f32, 100>::from_element(256, 1.0);
/// let y1 = layer.predict_batch(&x);
/// let y2 = with_threads(2, || layer.predict_batch(&x))?;
/// assert_eq!(y1, y2);
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
    if threads == 1 {
        return Ok(f());
    }
    let team = Team {
        helpers: threads - 1,
        generation: AtomicUsize::new(0),
        done: AtomicUsize::new(0),
        parts: AtomicUsize::new(0),
        job: Mutex::new(None),
        stop: AtomicBool::new(false),
        panic: Mutex::new(None),
    };
    std::thread::scope(|scope| {
        let team = &team;
        for index in 1..threads {
            std::thread::Builder::new()
                .name(format!("constnet-{index}"))
                .spawn_scoped(scope, move || team.serve(index))
                .map_err(|e| {
                    team.stop.store(true, Ordering::Release);
                    Error::Threads {
                        threads,
                        message: e.to_string(),
                    }
                })?;
        }
        // SAFETY of the 'static: the reference is removed from the thread-local (by
        // `Restore`, also on panic) before this scope ends and `team` is dropped.
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

/// A raw pointer that may cross threads: used to hand disjoint parts of one buffer to the
/// parts of a job.
#[derive(Clone, Copy)]
pub(crate) struct SharedMut<T>(pub(crate) *mut T);

impl<T> SharedMut<T> {
    /// The pointer (a method, so that closures capture the whole `Sync` wrapper).
    #[inline(always)]
    pub(crate) fn ptr(self) -> *mut T {
        self.0
    }
}
// SAFETY: users give each part a disjoint range of the buffer.
unsafe impl<T: Send> Send for SharedMut<T> {}
unsafe impl<T: Send> Sync for SharedMut<T> {}

/// The `k`-th of `parts` nearly equal ranges of `0..len`.
#[inline]
pub(crate) fn part(len: usize, parts: usize, k: usize) -> std::ops::Range<usize> {
    let per = len.div_ceil(parts);
    (k * per).min(len)..((k + 1) * per).min(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_cover_the_range_once() {
        for len in [0, 1, 5, 64, 101] {
            for parts in 1..5 {
                let covered: Vec<usize> = (0..parts).flat_map(|k| part(len, parts, k)).collect();
                assert_eq!(covered, (0..len).collect::<Vec<_>>());
            }
        }
    }

    #[test]
    fn every_part_runs_once_on_its_own_thread() {
        let ran = Mutex::new(Vec::new());
        with_threads(3, || {
            assert_eq!(current_threads(), 3);
            for _ in 0..100 {
                run_parts(3, &|k| {
                    ran.lock().unwrap().push((k, std::thread::current().id()))
                });
            }
        })
        .unwrap();
        let ran = ran.into_inner().unwrap();
        assert_eq!(ran.len(), 300);
        for k in 0..3 {
            assert_eq!(ran.iter().filter(|(p, _)| *p == k).count(), 100);
        }
        assert_eq!(current_threads(), 1);
    }

    #[test]
    fn a_panicking_part_reaches_the_caller() {
        let result = std::panic::catch_unwind(|| {
            with_threads(2, || run_parts(2, &|k| assert!(k == 0, "part {k} fails"))).unwrap()
        });
        assert!(result.is_err());
        // The thread is usable afterwards, on one thread again.
        assert_eq!(current_threads(), 1);
        assert_eq!(with_threads(2, || 7).unwrap(), 7);
    }
}
