//! Small fixed networks: one-sample forward and one-sample training step (forward,
//! backward, SGD update), and the same at batch 32; one network also behind `Box<dyn Model>`.
//!
//! `cargo bench --bench small_nets`

use std::hint::black_box;
use std::time::Duration;

use constnet::nalgebra::SVector;
use constnet::rand::rngs::StdRng;
use constnet::rand::{RngExt, SeedableRng};
use constnet::{
    Batch, Net,
    nn::{Build, Init, Layer, Linear, LogisticLoss, Model, Relu, SoftmaxCrossEntropy, Tanh},
    optim::Sgd,
    seq,
    train::{Workspace, train_sample},
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const BATCH: usize = 32;

fn random<const N: usize>(rng: &mut StdRng) -> SVector<f32, N> {
    SVector::from_fn(|_, _| rng.random_range(-1.0..1.0))
}

/// Benchmarks one network: `$net` maps `$i` inputs to `$o` classes.
macro_rules! bench_classifier {
    ($c:expr, $name:expr, $i:literal, $o:literal, $net:expr) => {{
        let mut rng = StdRng::seed_from_u64(42);
        let mut net = $net(&mut rng);
        let x = random::<$i>(&mut rng);
        let mut group = $c.benchmark_group($name);
        group.throughput(Throughput::Elements(1));
        group.bench_function("forward", |b| b.iter(|| net.forward(black_box(&x))));
        let mut sgd = Sgd::new(1e-3).unwrap();
        group.bench_function("train_step", |b| {
            b.iter(|| train_sample(&mut net, &SoftmaxCrossEntropy, &mut sgd, black_box(&x), &1))
        });
        let xb = Batch::<f32, $i>::from_fn(BATCH, |_, _| rng.random_range(-1.0..1.0));
        let labels: Vec<usize> = (0..BATCH).map(|i| i % $o).collect();
        let mut workspace = Workspace::new();
        group.throughput(Throughput::Elements(BATCH as u64));
        group.bench_function("train_step_batch32", |b| {
            b.iter(|| {
                workspace.step(
                    &mut net,
                    &SoftmaxCrossEntropy,
                    &mut sgd,
                    black_box(&xb),
                    &labels,
                )
            })
        });
        group.finish();
    }};
}

fn small_nets(c: &mut Criterion) {
    bench_classifier!(c, "2-16-16-2 tanh", 2, 2, |rng: &mut StdRng| seq![
        Linear::<2, 16>::new(Init::XavierUniform, rng),
        Tanh,
        Linear::<16, 16>::new(Init::XavierUniform, rng),
        Tanh,
        Linear::<16, 2>::new(Init::XavierUniform, rng),
    ]);
    bench_classifier!(c, "4-16-3 relu", 4, 3, |rng: &mut StdRng| seq![
        Linear::<4, 16>::new(Init::HeNormal, rng),
        Relu,
        Linear::<16, 3>::new(Init::XavierUniform, rng),
    ]);
    bench_classifier!(c, "6-64-8-4 relu", 6, 4, |rng: &mut StdRng| seq![
        Linear::<6, 64>::new(Init::HeNormal, rng),
        Relu,
        Linear::<64, 8>::new(Init::HeNormal, rng),
        Relu,
        Linear::<8, 4>::new(Init::XavierUniform, rng),
    ]);
    bench_classifier!(c, "64-32-10 relu", 64, 10, |rng: &mut StdRng| seq![
        Linear::<64, 32>::new(Init::HeNormal, rng),
        Relu,
        Linear::<32, 10>::new(Init::XavierUniform, rng),
    ]);

    // The same network chosen at run time, behind `Box<dyn Model>`: one dynamic call per
    // pass, and a tape that lives behind a pointer.
    bench_classifier!(
        c,
        "2-16-16-2 tanh, Box<dyn Model>",
        2,
        2,
        |rng: &mut StdRng| -> Box<dyn Model<f32, 2, 2>> {
            Box::new(<Net![Linear<2, 16>, Tanh, Linear<16, 16>, Tanh, Linear<16, 2>]>::init(rng))
        }
    );

    // XOR with one output, as in the lesson: 2-4-1 with the logistic loss.
    let mut rng = StdRng::seed_from_u64(7);
    let mut net = seq![
        Linear::<2, 4>::new(Init::XavierUniform, &mut rng),
        Tanh,
        Linear::<4, 1>::new(Init::XavierUniform, &mut rng),
    ];
    let x = SVector::from([1.0_f32, 0.0]);
    let t = 1.0_f32;
    let mut sgd = Sgd::new(0.1).unwrap();
    let mut group = c.benchmark_group("2-4-1 tanh (xor)");
    group.throughput(Throughput::Elements(1));
    group.bench_function("forward", |b| b.iter(|| net.forward(black_box(&x))));
    group.bench_function("train_step", |b| {
        b.iter(|| train_sample(&mut net, &LogisticLoss, &mut sgd, black_box(&x), &t))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50);
    targets = small_nets
}
criterion_main!(benches);
