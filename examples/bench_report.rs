//! Measures the library and prints a Markdown table for the README: small networks (one
//! sample and batch 32, plain SGD), MNIST epochs (784-128-10, plain SGD, batch 32/64/128, one and two
//! threads) against the same run's matrix-product peak, MNIST inference, and the Adam update of
//! 784-256-10 (per parameter beside a network that stays in cache).
//!
//! `cargo run --release --example bench_report`
//!
//! Small networks, inference and the optimizer update are timed as the best of several
//! repetitions (the least disturbed by other work on the machine); MNIST epochs as the median
//! and the slowest of five, since two-thread epochs come in slow streaks. The last table sets
//! each figure against the targets of issue 11. `cargo bench` gives criterion's statistics
//! for the same operations.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use constnet::data::mnist::load_mnist;
use constnet::nalgebra::SVector;
use constnet::rand::rngs::StdRng;
use constnet::rand::{RngExt, SeedableRng};
use constnet::{
    Batch,
    nn::{Init, Layer, Linear, LogisticLoss, Loss, Relu, SoftmaxCrossEntropy, Tanh},
    optim::{Adam, Optimizer, Sgd},
    seq,
    train::{Trainer, Workspace, train_sample},
    with_threads,
};

/// Counts every heap allocation of the program, to report allocations per step.
struct Counting;
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Best time per call of `f` over `reps` repetitions of `n` calls.
fn best(reps: usize, n: usize, mut f: impl FnMut()) -> Duration {
    for _ in 0..n.div_ceil(10) {
        f();
    }
    (0..reps)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..n {
                f();
            }
            start.elapsed() / n as u32
        })
        .min()
        .expect("at least one repetition")
}

fn ns(d: Duration) -> String {
    format!("{:.0}", d.as_nanos() as f64)
}

struct SmallRow {
    name: &'static str,
    forward: Duration,
    step: Duration,
    batch_step: Duration,
    allocations: u64,
}

/// Measures one small network: one-sample forward, one-sample SGD step, batch-32 step.
fn small<N, L, const I: usize, const O: usize>(
    name: &'static str,
    mut net: N,
    loss: L,
    target: L::Target,
) -> SmallRow
where
    N: Layer<f32, I, O>,
    L: Loss<f32, O>,
{
    let mut rng = StdRng::seed_from_u64(42);
    let x = SVector::<f32, I>::from_fn(|_, _| rng.random_range(-1.0..1.0));
    let mut sgd = Sgd::new(1e-3).expect("valid rate");
    let forward = best(7, 200_000, || {
        black_box(black_box(&net).forward(black_box(&x)));
    });
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let step = best(7, 100_000, || {
        black_box(train_sample(
            &mut net,
            &loss,
            &mut sgd,
            black_box(&x),
            &target,
        ))
        .unwrap();
    });
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    let xb = Batch::<f32, I>::from_fn(32, |_, _| rng.random_range(-1.0..1.0));
    let targets = vec![target; 32];
    let mut workspace = Workspace::new();
    let batch_step = best(7, 5_000, || {
        black_box(workspace.step(&mut net, &loss, &mut sgd, black_box(&xb), &targets)).unwrap();
    });
    SmallRow {
        name,
        forward,
        step,
        batch_step,
        allocations,
    }
}

/// Five epochs of one MNIST configuration.
struct Epochs {
    batch: usize,
    threads: usize,
    median: Duration,
    slowest: Duration,
}

/// One of issue 11's targets, with this run's figure.
struct Target {
    name: &'static str,
    measured: f64,
    bound: f64,
    unit: &'static str,
    /// Whether the figure must stay below the bound (a time) or above it (a rate).
    below: bool,
}

impl Target {
    fn at_most(name: &'static str, measured: f64, bound: f64, unit: &'static str) -> Self {
        Target {
            name,
            measured,
            bound,
            unit,
            below: true,
        }
    }

    fn at_least(name: &'static str, measured: f64, bound: f64, unit: &'static str) -> Self {
        Target {
            below: false,
            ..Target::at_most(name, measured, bound, unit)
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (sign, met) = if self.below {
            ("≤", self.measured <= self.bound)
        } else {
            ("≥", self.measured >= self.bound)
        };
        // Enough digits to compare with the bound.
        let digits = if self.bound < 1.0 {
            3
        } else if self.bound < 10.0 {
            2
        } else {
            0
        };
        write!(
            f,
            "| {} | {:.digits$} {} | {sign} {} {} | {} |",
            self.name,
            self.measured,
            self.unit,
            self.bound,
            self.unit,
            if met { "yes" } else { "no" }
        )
    }
}

/// Floating-point operations of one 784-128-10 forward pass per image.
const INFERENCE_FLOP_PER_IMAGE: f64 = 2.0 * (784.0 * 128.0 + 128.0 * 10.0);

/// Floating-point operations of one 784-128-10 training step per image: forward, weight
/// gradients of both layers, input gradient of the second (the first layer skips its own).
const FLOP_PER_IMAGE: f64 = 2.0 * (784.0 * 128.0 + 128.0 * 10.0) * 2.0 + 2.0 * 128.0 * 10.0;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = StdRng::seed_from_u64(0);
    let r = &mut rng;
    let rows = vec![
        small(
            "2-4-1 (XOR: tanh, logistic loss)",
            seq![
                Linear::<2, 4>::new(Init::XavierUniform, r),
                Tanh,
                Linear::<4, 1>::new(Init::XavierUniform, r)
            ],
            LogisticLoss,
            1.0,
        ),
        small(
            "2-16-16-2 (tanh, softmax cross-entropy)",
            seq![
                Linear::<2, 16>::new(Init::XavierUniform, r),
                Tanh,
                Linear::<16, 16>::new(Init::XavierUniform, r),
                Tanh,
                Linear::<16, 2>::new(Init::XavierUniform, r)
            ],
            SoftmaxCrossEntropy,
            1,
        ),
        small(
            "4-16-3 (ReLU, softmax cross-entropy)",
            seq![
                Linear::<4, 16>::new(Init::HeNormal, r),
                Relu,
                Linear::<16, 3>::new(Init::XavierUniform, r)
            ],
            SoftmaxCrossEntropy,
            1,
        ),
        small(
            "6-64-8-4 (ReLU, softmax cross-entropy)",
            seq![
                Linear::<6, 64>::new(Init::HeNormal, r),
                Relu,
                Linear::<64, 8>::new(Init::HeNormal, r),
                Relu,
                Linear::<8, 4>::new(Init::XavierUniform, r)
            ],
            SoftmaxCrossEntropy,
            1,
        ),
        small(
            "64-32-10 (ReLU, softmax cross-entropy)",
            seq![
                Linear::<64, 32>::new(Init::HeNormal, r),
                Relu,
                Linear::<32, 10>::new(Init::XavierUniform, r)
            ],
            SoftmaxCrossEntropy,
            1,
        ),
    ];

    // The same run's matrix-product peak: a 1024×1024 by 1024×1024 product through the
    // library's own path (matrixmultiply, in two halves of the inputs, one per thread on two).
    let big = Linear::<1024, 1024>::zeros();
    let xb = Batch::<f32, 1024>::from_fn(1024, |_, _| rng.random_range(-1.0..1.0));
    let (mut yb, mut second) = (Batch::zeros(1024), constnet::nn::DynTape::default());
    let flop = 2.0 * 1024f64.powi(3);
    let mut peak = [0.0; 3];
    for threads in [1, 2] {
        let t = with_threads(threads, || {
            best(5, 3, || big.forward_batch(&xb, &mut yb, &mut second))
        })?;
        peak[threads] = flop / t.as_secs_f64() / 1e9;
    }

    // MNIST epochs: 60,000 images, plain SGD, pure training time, five epochs each: the
    // median and the slowest (two-thread epochs have come in slow streaks).
    let data = load_mnist(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist"))?;
    let mut epochs = Vec::new();
    for batch in [32, 64, 128] {
        for threads in [1, 2] {
            let mut rng = StdRng::seed_from_u64(1);
            let mut net = seq![
                Linear::<784, 128>::new(Init::HeNormal, &mut rng),
                Relu,
                Linear::<128, 10>::new(Init::XavierUniform, &mut rng),
            ];
            let history = with_threads(threads, || {
                Trainer::new(SoftmaxCrossEntropy, Sgd::new(0.05).expect("valid rate"))
                    .epochs(5)
                    .batch_size(batch)
                    .fit(&mut net, &data.train, None, &mut ())
            })??;
            let mut times: Vec<Duration> = history.iter().map(|r| r.train_time).collect();
            times.sort();
            epochs.push(Epochs {
                batch,
                threads,
                median: times[times.len() / 2],
                slowest: times[times.len() - 1],
            });
        }
    }

    // Heap allocations of a minibatch step of 784-128-10 (batch 64, SGD, one thread): each
    // `matrixmultiply` call allocates its packing buffer; the workspace itself is reused.
    let mut rng = StdRng::seed_from_u64(4);
    let mut mlp = seq![
        Linear::<784, 128>::new(Init::HeNormal, &mut rng),
        Relu,
        Linear::<128, 10>::new(Init::XavierUniform, &mut rng),
    ];
    let images = data.train.subset(0..64);
    let (x64, labels) = (images.features().clone(), images.targets().to_vec());
    let mut workspace = Workspace::new();
    let mut sgd = Sgd::new(0.01)?;
    let mut batch_step = || {
        workspace
            .step(&mut mlp, &SoftmaxCrossEntropy, &mut sgd, &x64, &labels)
            .map(|_| ())
    };
    batch_step()?;
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let allocating = Instant::now();
    for _ in 0..100 {
        batch_step()?;
    }
    let step_time = allocating.elapsed() / 100;
    let allocations_per_step = (ALLOCATIONS.load(Ordering::Relaxed) - before) as f64 / 100.0;
    // What one such allocation costs: a buffer of the size `matrixmultiply` asks for here
    // (packed operands of the 784-by-128 layer at batch 64, about 600 KB), allocated and freed.
    let allocation = best(7, 1000, || {
        drop(black_box(Vec::<f32>::with_capacity(black_box(150_000))));
    });

    // The optimizer update alone, Adam on 784-256-10 (the default MNIST network), gradients
    // refilled before each step as `cargo bench --bench mnist -- "update only"` does.
    let mut rng = StdRng::seed_from_u64(3);
    let mut wide = seq![
        Linear::<784, 256>::new(Init::HeNormal, &mut rng),
        Relu,
        Linear::<256, 10>::new(Init::XavierUniform, &mut rng),
    ];
    // Adam zeroes the gradients it reads, so each step is timed with its refill; the refill
    // alone is timed too and taken off. The same per parameter for a 256-256-16 network, whose
    // 69,904 parameters with their gradients and moments (1.1 MB) stay in the core's 2 MB L2
    // cache: if the two agree, the update is bound by its arithmetic (a square root and a
    // division per parameter), not by memory.
    let refill = best(7, 200, || {
        wide.visit_params_mut(&constnet::nn::Path::ROOT, &mut |p| p.grad.fill(1e-3));
        black_box(&mut wide);
    });
    let mut adam = Adam::new(1e-3)?;
    let mut adam_step = [Duration::ZERO; 2];
    for threads in [1, 2] {
        adam_step[threads - 1] = with_threads(threads, || {
            best(7, 200, || {
                wide.visit_params_mut(&constnet::nn::Path::ROOT, &mut |p| p.grad.fill(1e-3));
                adam.step(&mut wide, 1e-3).unwrap();
            })
        })?
        .saturating_sub(refill);
    }
    let mut cached = seq![
        Linear::<256, 256>::new(Init::HeNormal, &mut rng),
        Relu,
        Linear::<256, 16>::new(Init::HeNormal, &mut rng),
    ];
    let mut adam = Adam::new(1e-3)?;
    let cached_refill = best(7, 500, || {
        cached.visit_params_mut(&constnet::nn::Path::ROOT, &mut |p| p.grad.fill(1e-3));
        black_box(&mut cached);
    });
    let cached_step = best(7, 500, || {
        cached.visit_params_mut(&constnet::nn::Path::ROOT, &mut |p| p.grad.fill(1e-3));
        adam.step(&mut cached, 1e-3).unwrap();
    })
    .saturating_sub(cached_refill);
    let per_parameter = |d: Duration, n: usize| d.as_secs_f64() * 1e9 / n as f64;
    let (wide_params, cached_params) = (784 * 256 + 256 + 256 * 10 + 10, 256 * 257 + 16 * 257);

    // Inference on a batch of 1,000 test images.
    let mut rng = StdRng::seed_from_u64(2);
    let net = seq![
        Linear::<784, 128>::new(Init::HeNormal, &mut rng),
        Relu,
        Linear::<128, 10>::new(Init::XavierUniform, &mut rng),
    ];
    let images = data.test.subset(0..1000);
    let x = images.features().clone();
    let mut y = Batch::zeros(1000);
    let mut tape = Default::default();
    let mut inference = Vec::new();
    for threads in [1, 2] {
        let t = with_threads(threads, || {
            best(7, 50, || {
                net.forward_batch(black_box(&x), &mut y, &mut tape)
            })
        })?;
        inference.push((threads, 1000.0 / t.as_secs_f64()));
    }

    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let rustc = std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let simd = if cfg!(target_feature = "avx2") {
        "AVX2 enabled at compile time"
    } else if cfg!(target_arch = "x86_64") && std::is_x86_feature_detected!("avx2") {
        "the library's own loops compiled for baseline x86-64 and for AVX2, AVX2 chosen at run time"
    } else {
        "baseline x86-64 (SSE2) for the library's own loops (no AVX2 on this CPU)"
    };

    println!(
        "Measured by `cargo run --release --example bench_report` on {cpu} ({cores} cores), {rustc},"
    );
    println!(
        "release profile (opt-level 3), no RUSTFLAGS: {simd}; matrixmultiply picks AVX-512/AVX2 kernels at run time. f32 throughout.\n"
    );
    println!(
        "| small network (f32) | forward, 1 sample | training step, 1 sample | heap allocations per step | training step, batch 32 |"
    );
    println!("|---|---|---|---|---|");
    for row in &rows {
        println!(
            "| {} | {} ns | {} ns | {} | {:.2} µs |",
            row.name,
            ns(row.forward),
            ns(row.step),
            row.allocations,
            row.batch_step.as_secs_f64() * 1e6
        );
    }
    println!(
        "\nMatrix-product peak of this run (1024³ f32 product): {:.0} GFLOP/s on 1 thread, {:.0} GFLOP/s on 2.\n",
        peak[1], peak[2]
    );
    println!(
        "| MNIST 784-128-10, SGD | threads | epoch (60,000 images), median of 5 | slowest of 5 | GFLOP/s (median) | fraction of peak |"
    );
    println!("|---|---|---|---|---|---|");
    for e in &epochs {
        let gflops = FLOP_PER_IMAGE * 60_000.0 / e.median.as_secs_f64() / 1e9;
        println!(
            "| batch {} | {} | {:.3} s | {:.3} s | {:.0} | {:.0}% |",
            e.batch,
            e.threads,
            e.median.as_secs_f64(),
            e.slowest.as_secs_f64(),
            gflops,
            100.0 * gflops / peak[e.threads]
        );
    }
    println!(
        "\n| MNIST 784-128-10 inference, batch 1,000 | images per second | GFLOP/s | fraction of peak |"
    );
    println!("|---|---|---|---|");
    for (threads, rate) in &inference {
        let gflops = rate * INFERENCE_FLOP_PER_IMAGE / 1e9;
        println!(
            "| {threads} thread{} | {:.2} M | {gflops:.0} | {:.0}% |",
            if *threads == 1 { "" } else { "s" },
            rate / 1e6,
            100.0 * gflops / peak[*threads]
        );
    }
    println!(
        "\n| Adam update alone (gradient refill taken off) | 1 thread | 2 threads | ns per parameter, 1 thread |\n|---|---|---|---|\n| 784-256-10 (203,530 parameters, 3.3 MB with gradients and moments) | {:.1} µs | {:.1} µs | {:.3} |\n| 256-256-16 (69,904 parameters, 1.1 MB: in the core's L2 cache) | {:.1} µs | | {:.3} |",
        adam_step[0].as_secs_f64() * 1e6,
        adam_step[1].as_secs_f64() * 1e6,
        per_parameter(adam_step[0], wide_params),
        cached_step.as_secs_f64() * 1e6,
        per_parameter(cached_step, cached_params),
    );

    println!(
        "\nA minibatch step of 784-128-10 (batch 64, SGD, 1 thread) makes {allocations_per_step:.0} heap allocations (the packing buffers of `matrixmultiply`, one per product) and takes {:.0} µs; allocating and freeing a 600 KB buffer takes {:.0} ns here, so the allocations are {:.2}% of the step.",
        step_time.as_secs_f64() * 1e6,
        allocation.as_secs_f64() * 1e9,
        100.0 * allocations_per_step * allocation.as_secs_f64() / step_time.as_secs_f64()
    );

    // The targets of issue 11, each against this run's figure.
    let small = |name: &str| {
        rows.iter()
            .find(|r| r.name.starts_with(name))
            .expect("a measured network")
    };
    let epoch = |threads: usize| {
        epochs
            .iter()
            .find(|e| e.batch == 64 && e.threads == threads)
            .expect("a measured epoch")
    };
    let nanos = |d: Duration| d.as_secs_f64() * 1e9;
    let (tiny, mid) = (small("2-16-16-2"), small("6-64-8-4"));
    let targets = [
        Target::at_most(
            "2-16-16-2 forward, 1 sample",
            nanos(tiny.forward),
            30.0,
            "ns",
        ),
        Target::at_most(
            "2-16-16-2 training step, 1 sample",
            nanos(tiny.step),
            120.0,
            "ns",
        ),
        Target::at_most(
            "2-16-16-2 training step, batch 32",
            tiny.batch_step.as_secs_f64() * 1e6,
            1.5,
            "µs",
        ),
        Target::at_most("6-64-8-4 forward, 1 sample", nanos(mid.forward), 40.0, "ns"),
        Target::at_most(
            "6-64-8-4 training step, 1 sample",
            nanos(mid.step),
            250.0,
            "ns",
        ),
        Target::at_most(
            "Adam update alone, 784-256-10, 1 thread",
            adam_step[0].as_secs_f64() * 1e6,
            30.0,
            "µs",
        ),
        Target::at_most(
            "MNIST 784-128-10 SGD epoch, batch 64, 1 thread (median)",
            epoch(1).median.as_secs_f64(),
            0.28,
            "s",
        ),
        Target::at_most(
            "the same, 2 threads (median)",
            epoch(2).median.as_secs_f64(),
            0.18,
            "s",
        ),
        Target::at_most(
            "the same, 2 threads (slowest of 5)",
            epoch(2).slowest.as_secs_f64(),
            0.25,
            "s",
        ),
        Target::at_least(
            "inference 784-128-10, batch 1,000, 1 thread",
            inference[0].1 / 1e6,
            0.50,
            "M images/s",
        ),
        Target::at_least(
            "the same, 2 threads",
            inference[1].1 / 1e6,
            0.95,
            "M images/s",
        ),
    ];
    println!("\n| target (issue 11) | this run | target | met |\n|---|---|---|---|");
    for t in &targets {
        println!("{t}");
    }
    cnn_rows(&data, &peak)?;
    Ok(())
}

/// The reference CNN of the `mnist_cnn` example.
type Cnn = constnet::Net![
    Input<1, 28, 28>,
    Conv2d<1, 8, 5>, Relu, MaxPool2d<2>,
    Conv2d<8, 16, 5>, Relu, MaxPool2d<2>,
    Flatten,
    Linear<256, 64>, Relu,
    Linear<64, 10>,
];

/// Multiply-adds ×2 of one forward pass of [`Cnn`]: the two convolutions and two linear layers.
const CNN_FORWARD_FLOP: f64 =
    2.0 * (8.0 * 576.0 * 25.0 + 16.0 * 64.0 * 200.0 + 256.0 * 64.0 + 64.0 * 10.0);

/// The reference CNN: one-sample forward, a training epoch (Adam, batch 64) and inference
/// (batch 1,000) on 1 and 2 threads, with GFLOP/s and the fraction of this run's peak
/// (training counted as three forward passes, less the first layer's input gradient).
fn cnn_rows(
    data: &constnet::data::mnist::Mnist,
    peak: &[f64; 3],
) -> Result<(), Box<dyn std::error::Error>> {
    use constnet::nn::Build;
    let net = Cnn::init(&mut StdRng::seed_from_u64(0));
    let x = SVector::<f32, 784>::from_fn(|i, _| (i % 255) as f32 / 255.0);
    let one = best(20, 200, || {
        black_box(net.forward(black_box(&x)));
    });
    println!(
        "\n| reference CNN (mnist_cnn) | 1 thread | 2 threads |\n|---|---|---|\n| forward, 1 sample | {:.1} µs | |",
        one.as_secs_f64() * 1e6
    );
    let train_flop = 60_000.0 * (3.0 * CNN_FORWARD_FLOP - 2.0 * 8.0 * 576.0 * 25.0);
    let mut cells = Vec::new();
    for threads in [1, 2] {
        let mut net = Cnn::init(&mut StdRng::seed_from_u64(0));
        let history = with_threads(threads, || {
            Trainer::new(SoftmaxCrossEntropy, Adam::new(3e-3).expect("valid rate"))
                .epochs(1)
                .batch_size(64)
                .fit(&mut net, &data.train, None, &mut ())
        })??;
        let t = history[0].train_time.as_secs_f64();
        cells.push(format!(
            "{t:.2} s ({:.0}% of peak)",
            100.0 * train_flop / t / 1e9 / peak[threads]
        ));
    }
    println!(
        "| training epoch, Adam, batch 64 | {} | {} |",
        cells[0], cells[1]
    );
    let xb = Batch::<f32, 784>::from_fn(1000, |r, c| data.test.features()[(r, c)]);
    let mut cells = Vec::new();
    for threads in [1, 2] {
        // `predict_batch`, the library's inference call: it runs the batch in chunks that
        // keep each layer's outputs in cache.
        let t = with_threads(threads, || {
            best(5, 1, || {
                black_box(net.predict_batch(black_box(&xb)));
            })
        })?;
        let rate = 1000.0 / t.as_secs_f64();
        cells.push(format!(
            "{rate:.0} images/s ({:.0}% of peak)",
            100.0 * rate * CNN_FORWARD_FLOP / 1e9 / peak[threads]
        ));
    }
    println!("| inference, batch 1,000 | {} | {} |", cells[0], cells[1]);
    println!(
        "\n(this run's peak: {:.1} GFLOP/s on 1 thread, {:.1} on 2)",
        peak[1], peak[2]
    );
    Ok(())
}
