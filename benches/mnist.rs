//! MNIST-sized training and inference: 784-128-10 (ReLU), f32.
//!
//! `cargo bench --bench mnist`

use std::hint::black_box;
use std::time::Duration;

use constnet::rand::rngs::StdRng;
use constnet::rand::{RngExt, SeedableRng};
use constnet::{
    Batch,
    nn::{Chain, Init, Layer, Linear, Relu, SoftmaxCrossEntropy},
    optim::{Adam, Optimizer, Sgd},
    seq,
    train::Workspace,
    with_threads,
};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

type Mlp = Chain<Chain<Linear<784, 128>, Relu, 128>, Linear<128, 10>, 128>;

fn mlp(rng: &mut StdRng) -> Mlp {
    seq![
        Linear::<784, 128>::new(Init::HeNormal, rng),
        Relu,
        Linear::<128, 10>::new(Init::XavierUniform, rng),
    ]
}

fn step<Opt: Optimizer<f32>>(c: &mut Criterion, name: &str, make: impl Fn() -> Opt) {
    let mut group = c.benchmark_group(format!("784-128-10 training step, {name}"));
    for batch in [32usize, 64, 128] {
        let mut rng = StdRng::seed_from_u64(1);
        let mut net = mlp(&mut rng);
        let x = Batch::<f32, 784>::from_fn(batch, |_, _| rng.random_range(0.0..1.0));
        let labels: Vec<usize> = (0..batch).map(|i| i % 10).collect();
        let mut optimizer = make();
        let mut workspace = Workspace::new();
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_with_input(BenchmarkId::new("batch", batch), &batch, |b, _| {
            b.iter(|| {
                workspace.step(
                    &mut net,
                    &SoftmaxCrossEntropy,
                    &mut optimizer,
                    black_box(&x),
                    &labels,
                )
            })
        });
    }
    group.finish();
}

fn training(c: &mut Criterion) {
    step(c, "SGD", || Sgd::new(0.01).unwrap());
    step(c, "Adam", || Adam::new(1e-3).unwrap());
    // Two threads: every product and the update handed out as parts that either thread
    // claims (see `parallel.rs`); the same bits as one thread.
    with_threads(2, || step(c, "SGD, 2 threads", || Sgd::new(0.01).unwrap())).unwrap();
}

/// The optimizer update alone, on the parameters of 784-256-10 (the MNIST example's
/// network): what one training step costs besides the products. The gradients are refilled
/// every iteration (so that the moments stay normal numbers), which is included.
fn update(c: &mut Criterion) {
    type Default = Chain<Chain<Linear<784, 256>, Relu, 256>, Linear<256, 10>, 256>;
    fn bench<Opt: Optimizer<f32>>(c: &mut Criterion, name: &str, mut optimizer: Opt) {
        let mut rng = StdRng::seed_from_u64(3);
        let mut net: Default = seq![
            Linear::<784, 256>::new(Init::HeNormal, &mut rng),
            Relu,
            Linear::<256, 10>::new(Init::XavierUniform, &mut rng),
        ];
        c.bench_function(&format!("784-256-10 optimizer update only, {name}"), |b| {
            b.iter(|| {
                net.visit_params_mut(&constnet::nn::Path::ROOT, &mut |p| p.grad.fill(1e-3));
                optimizer.step(&mut net, 1e-3).unwrap();
            })
        });
    }
    bench(c, "Adam", Adam::new(1e-3).unwrap());
    bench(c, "SGD", Sgd::new(1e-2).unwrap());
    bench(
        c,
        "SGD with momentum",
        Sgd::new(1e-2).unwrap().momentum(0.9).unwrap(),
    );
}

fn inference(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(2);
    let net = mlp(&mut rng);
    let x = Batch::<f32, 784>::from_fn(1000, |_, _| rng.random_range(0.0..1.0));
    let mut y = Batch::zeros(1000);
    let mut tape = Default::default();
    let mut group = c.benchmark_group("784-128-10 inference, batch 1000");
    group.throughput(Throughput::Elements(1000));
    group.bench_function("1 thread", |b| {
        b.iter(|| net.forward_batch(black_box(&x), &mut y, &mut tape))
    });
    with_threads(2, || {
        group.bench_function("2 threads", |b| {
            b.iter(|| net.forward_batch(black_box(&x), &mut y, &mut tape))
        });
    })
    .unwrap();
    group.finish();
}

/// The reference CNN of the `mnist_cnn` example: one-sample forward, a minibatch training step
/// (Adam, batch 64) and inference (batch 1,000), on 1 and 2 threads.
fn cnn(c: &mut Criterion) {
    use constnet::nn::{Build, SoftmaxCrossEntropy};
    use constnet::train::Workspace;
    type Cnn = constnet::Net![
        Input<1, 28, 28>,
        Conv2d<1, 8, 5>, Relu, MaxPool2d<2>,
        Conv2d<8, 16, 5>, Relu, MaxPool2d<2>,
        Flatten,
        Linear<256, 64>, Relu,
        Linear<64, 10>,
    ];
    let mut rng = StdRng::seed_from_u64(5);
    let mut net = Cnn::init(&mut rng);
    let one = constnet::nalgebra::SVector::<f32, 784>::from_fn(|_, _| rng.random_range(0.0..1.0));
    c.bench_function("CNN forward, 1 sample", |b| {
        b.iter(|| net.forward(black_box(&one)))
    });
    let x = Batch::<f32, 784>::from_fn(1000, |_, _| rng.random_range(0.0..1.0));
    let mut y = Batch::zeros(1000);
    let mut tape = Default::default();
    let mut group = c.benchmark_group("CNN inference, batch 1000");
    group.throughput(Throughput::Elements(1000));
    for threads in [1, 2] {
        with_threads(threads, || {
            // The library's inference call, which runs the batch in chunks of 24 samples.
            group.bench_function(format!("predict_batch, {threads} thread(s)"), |b| {
                b.iter(|| net.predict_batch(black_box(&x)))
            });
            // One pass of each layer over all 1,000 samples.
            group.bench_function(format!("forward_batch, {threads} thread(s)"), |b| {
                b.iter(|| net.forward_batch(black_box(&x), &mut y, &mut tape))
            });
        })
        .unwrap();
    }
    group.finish();
    let batch = Batch::<f32, 784>::from_fn(64, |r, c| x[(r, c)]);
    let targets: Vec<usize> = (0..64).map(|j| j % 10).collect();
    let mut adam = Adam::new(1e-3).unwrap();
    let mut workspace = Workspace::new();
    let mut group = c.benchmark_group("CNN training step, Adam, batch 64");
    group.throughput(Throughput::Elements(64));
    for threads in [1, 2] {
        with_threads(threads, || {
            group.bench_function(format!("{threads} thread(s)"), |b| {
                b.iter(|| {
                    workspace
                        .step(&mut net, &SoftmaxCrossEntropy, &mut adam, &batch, &targets)
                        .unwrap()
                })
            });
        })
        .unwrap();
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    targets = training, update, inference, cnn
}
criterion_main!(benches);
