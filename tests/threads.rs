//! Splitting minibatch products between threads changes no result, not even in the last bit.

use constnet::rand::rngs::StdRng;
use constnet::rand::{RngExt, SeedableRng};
use constnet::{
    Batch, Error, current_threads,
    data::Dataset,
    io,
    nn::{Init, Layer, Linear, Relu, SoftmaxCrossEntropy},
    optim::Adam,
    seq,
    train::Trainer,
    with_threads,
};

fn train(threads: usize) -> Vec<u8> {
    let mut rng = StdRng::seed_from_u64(3);
    let pixels: Vec<f32> = (0..300 * 784).map(|_| rng.random_range(0.0..1.0)).collect();
    let labels: Vec<usize> = (0..300).map(|i| (i * 7) % 10).collect();
    let data = Dataset::<f32, 784, usize>::from_rows(&pixels, labels).unwrap();
    let mut net = seq![
        Linear::<784, 128>::new(Init::HeNormal, &mut rng),
        Relu,
        Linear::<128, 10>::new(Init::XavierUniform, &mut rng),
    ];
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    with_threads(threads, || {
        // Capped at the cores: on a 2-core machine, 3 threads run as 2 (the unit tests of
        // src/parallel.rs split products three ways regardless).
        assert_eq!(current_threads(), threads.min(cores));
        Trainer::new(SoftmaxCrossEntropy, Adam::new(1e-3).unwrap())
            .epochs(2)
            .batch_size(64)
            .fit(&mut net, &data, Some(&data), &mut ())
            .unwrap();
    })
    .unwrap();
    assert_eq!(current_threads(), 1, "the setting ends with the call");
    io::to_safetensors(&net).unwrap()
}

#[test]
fn training_gives_identical_weights_on_one_two_and_three_threads() {
    let one = train(1);
    assert_eq!(one, train(2));
    assert_eq!(one, train(3));
}

#[test]
fn inference_gives_identical_outputs_on_two_threads() {
    let mut rng = StdRng::seed_from_u64(4);
    let net = seq![
        Linear::<784, 128>::new(Init::HeNormal, &mut rng),
        Relu,
        Linear::<128, 10>::new(Init::XavierUniform, &mut rng),
    ];
    let x = Batch::<f32, 784>::from_fn(1000, |_, _| rng.random_range(0.0..1.0));
    let serial = net.predict_batch(&x);
    let parallel = with_threads(2, || net.predict_batch(&x)).unwrap();
    assert_eq!(serial, parallel);
}

#[test]
fn zero_threads_is_an_error() {
    assert!(matches!(
        with_threads(0, || ()),
        Err(Error::InvalidHyperparameter { .. })
    ));
}
