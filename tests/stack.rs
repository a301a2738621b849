//! MNIST-sized networks train on a 2 MiB thread stack (the size `cargo test` gives its
//! threads), in debug builds too. dfdx and other const-generic crates overflow here.

use constnet::nalgebra::SVector;
use constnet::rand::rngs::StdRng;
use constnet::rand::{RngExt, SeedableRng};
use constnet::{
    data::Dataset,
    nn::{Init, Layer, Linear, Relu, SoftmaxCrossEntropy},
    optim::Adam,
    seq,
    train::{Trainer, evaluate, train_sample},
};

const STACK: usize = 2 * 1024 * 1024;

fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(f)
        .unwrap()
        .join()
        .expect("the training thread must not overflow its 2 MiB stack");
}

#[test]
fn mnist_sized_network_trains_with_adam_on_a_2_mib_stack() {
    // Meaningful in the debug build `cargo test` makes by default, where temporaries of
    // nalgebra's static matrices would need several MiB of stack.
    on_small_stack(|| {
        let mut rng = StdRng::seed_from_u64(0);
        let mut net = seq![
            Linear::<784, 128>::new(Init::HeNormal, &mut rng),
            Relu,
            Linear::<128, 10>::new(Init::XavierUniform, &mut rng),
        ];
        // 64 random "images", one class each, to be memorised.
        let pixels: Vec<f32> = (0..64 * 784).map(|_| rng.random_range(0.0..1.0)).collect();
        let labels: Vec<usize> = (0..64).map(|i| i % 10).collect();
        let data = Dataset::<f32, 784, usize>::from_rows(&pixels, labels).unwrap();

        let before = evaluate(&net, &SoftmaxCrossEntropy, &data).unwrap().loss;
        let history = Trainer::new(SoftmaxCrossEntropy, Adam::new(1e-3).unwrap())
            .epochs(5)
            .batch_size(16)
            .fit(&mut net, &data, Some(&data), &mut ())
            .unwrap();
        let after = history.last().unwrap().validation.unwrap().loss;
        assert!(after < before, "loss {before} -> {after}");

        // The one-sample path and a copy of the network on the same stack.
        let copy = net.clone();
        let x = SVector::<f32, 784>::from_element(0.5);
        let mut adam = Adam::new(1e-3).unwrap();
        train_sample(&mut net, &SoftmaxCrossEntropy, &mut adam, &x, &3).unwrap();
        assert_ne!(net.forward(&x), copy.forward(&x));
    });
}
