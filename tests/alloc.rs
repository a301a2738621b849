//! The one-sample forward pass and training step of small networks allocate nothing on the
//! heap, counted by a global allocator (this test binary's own).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use constnet::nalgebra::SVector;
use constnet::rand::SeedableRng;
use constnet::rand::rngs::StdRng;
use constnet::{
    nn::{Init, Layer, Linear, Loss, Mse, Relu, SoftmaxCrossEntropy, Tanh},
    optim::{Adam, Optimizer, Sgd},
    seq,
    train::train_sample,
};

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

/// Counts allocations made by the current thread.
struct Counting;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_in(f: impl FnOnce()) -> u64 {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

/// Forward passes and training steps after a first (warm-up) step allocate nothing.
fn check<N, L, Opt, const I: usize, const O: usize>(
    name: &str,
    mut net: N,
    loss: L,
    mut optimizer: Opt,
    target: L::Target,
) where
    N: Layer<f32, I, O>,
    L: Loss<f32, O>,
    Opt: Optimizer<f32>,
{
    let x = SVector::<f32, I>::from_fn(|i, _| (i as f32 * 0.37).sin());
    // The first step may allocate optimizer state (momentum, Adam moments), once.
    train_sample(&mut net, &loss, &mut optimizer, &x, &target).unwrap();
    let count = allocations_in(|| {
        for _ in 0..1000 {
            std::hint::black_box(net.forward(std::hint::black_box(&x)));
            train_sample(&mut net, &loss, &mut optimizer, &x, &target).unwrap();
        }
    });
    assert_eq!(
        count, 0,
        "{name}: {count} heap allocations in 1000 forward passes and steps"
    );
}

#[test]
fn small_networks_step_without_heap_allocation() {
    let mut rng = StdRng::seed_from_u64(0);
    let rng = &mut rng;
    // The counter works: a Vec allocates.
    assert_eq!(
        allocations_in(|| drop(std::hint::black_box(vec![1u8; 10]))),
        1
    );

    let xor = seq![
        Linear::<2, 4>::new(Init::XavierUniform, rng),
        Tanh,
        Linear::<4, 1>::new(Init::XavierUniform, rng),
    ];
    check(
        "2-4-1",
        xor,
        Mse,
        Sgd::new(0.1).unwrap(),
        SVector::from([1.0]),
    );
    let net = seq![
        Linear::<2, 16>::new(Init::XavierUniform, rng),
        Tanh,
        Linear::<16, 16>::new(Init::XavierUniform, rng),
        Tanh,
        Linear::<16, 2>::new(Init::XavierUniform, rng),
    ];
    check(
        "2-16-16-2",
        net,
        SoftmaxCrossEntropy,
        Sgd::new(0.1).unwrap(),
        1,
    );
    let net = seq![
        Linear::<4, 16>::new(Init::HeNormal, rng),
        Relu,
        Linear::<16, 3>::new(Init::XavierUniform, rng),
    ];
    let momentum = Sgd::new(0.01).unwrap().momentum(0.9).unwrap();
    check("4-16-3", net, SoftmaxCrossEntropy, momentum, 2);
    let net = seq![
        Linear::<6, 64>::new(Init::HeNormal, rng),
        Relu,
        Linear::<64, 8>::new(Init::HeNormal, rng),
        Relu,
        Linear::<8, 4>::new(Init::XavierUniform, rng),
    ];
    check(
        "6-64-8-4",
        net,
        SoftmaxCrossEntropy,
        Adam::new(1e-3).unwrap(),
        3,
    );
    let net = seq![
        Linear::<64, 32>::new(Init::HeNormal, rng),
        Relu,
        Linear::<32, 10>::new(Init::XavierUniform, rng),
    ];
    check(
        "64-32-10",
        net,
        SoftmaxCrossEntropy,
        Sgd::new(0.1).unwrap(),
        7,
    );
}

/// The one-sample forward pass and training step of a convolutional network (direct loops,
/// every activation on the stack) allocate nothing after the first step. Minibatch steps do:
/// `matrixmultiply` allocates its packing buffers in each product.
#[test]
fn cnn_one_sample_steps_allocate_nothing() {
    use constnet::{Net, nn::Build};
    type Cnn = Net![
        Input<1, 12, 12>,
        Conv2d<1, 4, 3>, Relu, MaxPool2d<2>,
        Conv2d<4, 6, 3, 1, 1>, Relu, AvgPool2d<2>,
        Flatten, Linear<24, 10>,
    ];
    let net = Cnn::init(&mut StdRng::seed_from_u64(3));
    check(
        "CNN 1x12x12",
        net,
        SoftmaxCrossEntropy,
        Adam::new(1e-3).unwrap(),
        4,
    );
    type Signal =
        Net![Input<2, 32>, Conv1d<2, 4, 5, 1, 2>, Relu, MaxPool1d<2>, Flatten, Linear<64, 3>];
    let net = Signal::init(&mut StdRng::seed_from_u64(4));
    check(
        "CNN 2x32",
        net,
        SoftmaxCrossEntropy,
        Sgd::new(0.1).unwrap(),
        1,
    );
}

/// Minibatch training steps of a fully convolutional network (convolutions, pooling, the
/// loss and Adam; no `Linear`, whose `matrixmultiply` products allocate their packing
/// buffers) allocate nothing once the first step of a batch size has run, on one thread.
#[test]
fn cnn_minibatch_steps_allocate_nothing_after_warm_up() {
    use constnet::{Net, nn::Build};
    type AllConv = Net![
        Input<1, 12, 12>,
        Conv2d<1, 4, 3>, Relu, MaxPool2d<2>,
        Conv2d<4, 6, 3, 1, 1>, Tanh, AvgPool2d<5>,
        Conv2d<6, 10, 1>, Flatten,
    ];
    let count = minibatch_allocations(AllConv::init(&mut StdRng::seed_from_u64(3)));
    assert_eq!(count, 0, "{count} heap allocations in 20 minibatch steps");
}

/// Heap allocations in 20 minibatch steps (softmax cross-entropy, Adam, 16 samples of
/// 1x12x12) after a first step of the same batch size.
fn minibatch_allocations<N: Layer<f32, 144, 10>>(mut net: N) -> u64 {
    use constnet::{Batch, train::Workspace};
    let mut adam = Adam::new(1e-3).unwrap();
    let x = Batch::<f32, 144>::from_fn(16, |r, c| ((r * 7 + c * 3) % 11) as f32 / 10.0);
    let targets: Vec<usize> = (0..16).map(|j| j % 10).collect();
    let mut workspace = Workspace::new();
    workspace
        .step(&mut net, &SoftmaxCrossEntropy, &mut adam, &x, &targets)
        .unwrap();
    allocations_in(|| {
        for _ in 0..20 {
            workspace
                .step(&mut net, &SoftmaxCrossEntropy, &mut adam, &x, &targets)
                .unwrap();
        }
    })
}

/// Normalisation and residual blocks: one-sample passes in evaluation mode (running
/// statistics) and one-sample training steps allocate nothing.
#[test]
fn normalised_and_residual_one_sample_passes_allocate_nothing() {
    use constnet::nn::{BatchNorm1d, Build, LayerNorm};
    use constnet::{Net, nn::Linear};
    type Mlp = Net![
        Linear<8, 32>, BatchNorm1d<32>, Relu,
        Residual<Net![Linear<32, 32>, LayerNorm<32>, Relu, Linear<32, 32>]>,
        Linear<32, 4>,
    ];
    let net = Mlp::init(&mut StdRng::seed_from_u64(5));
    check(
        "MLP with norms and a residual block",
        net,
        SoftmaxCrossEntropy,
        Adam::new(1e-3).unwrap(),
        2,
    );
}

/// Minibatch training steps with batch statistics (`BatchNorm2d` in training mode) and a
/// residual block allocate nothing once the first step of a batch size has run.
#[test]
fn batch_norm_minibatch_training_steps_allocate_nothing_after_warm_up() {
    use constnet::nn::{Conv2d, Residual};
    use constnet::{Net, nn::Build};
    type AllConv = Net![
        Input<1, 12, 12>,
        Conv2d<1, 4, 3>, BatchNorm2d<4>, Relu, MaxPool2d<2>,
        Residual<Conv2d<4, 4, 3, 1, 1, 5, 5, 100, 100>>, AvgPool2d<5>,
        Conv2d<4, 10, 1>, Flatten,
    ];
    let mut net = AllConv::init(&mut StdRng::seed_from_u64(3));
    net.set_training(true);
    let count = minibatch_allocations(net);
    assert_eq!(count, 0, "{count} heap allocations in 20 minibatch steps");
}
