//! On the real bundled MNIST files: loading, a short training run, and a save/load round trip.

use std::path::Path;

use constnet::data::mnist::{CLASSES, PIXELS, load_mnist};
use constnet::rand::SeedableRng;
use constnet::{
    io,
    nn::{Init, Layer, Linear, Relu, SoftmaxCrossEntropy},
    optim::Adam,
    seq,
    train::{Trainer, accuracy},
};

#[test]
fn a_short_run_on_real_mnist_is_far_above_chance() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist");
    let mnist = load_mnist(&dir).expect("the bundled MNIST files load");
    assert_eq!((mnist.train.len(), mnist.test.len()), (60_000, 10_000));
    let (x, &label) = mnist.train.sample(0);
    assert_eq!(label, 5, "the first training image is a 5");
    assert!(x.iter().all(|&p| (0.0..=1.0).contains(&p)));

    let train = mnist.train.subset(0..10_000);
    let mut rng = constnet::rand::rngs::StdRng::seed_from_u64(0);
    let mut net = seq![
        Linear::<PIXELS, 128>::new(Init::HeNormal, &mut rng),
        Relu,
        Linear::<128, CLASSES>::new(Init::XavierUniform, &mut rng),
    ];
    Trainer::new(SoftmaxCrossEntropy, Adam::new(2e-3).unwrap())
        .epochs(1)
        .batch_size(64)
        .fit(&mut net, &train, None, &mut ())
        .unwrap();
    let test_accuracy = accuracy(&net, &mnist.test);
    assert!(test_accuracy > 0.90, "test accuracy {test_accuracy}");

    // Saved and loaded weights predict bit for bit the same.
    let path =
        std::env::temp_dir().join(format!("constnet-mnist-{}.safetensors", std::process::id()));
    io::save_safetensors(&net, &path).unwrap();
    let mut loaded = seq![
        Linear::<PIXELS, 128>::zeros(),
        Relu,
        Linear::<128, CLASSES>::zeros()
    ];
    io::load_safetensors(&mut loaded, &path).unwrap();
    let test = mnist.test.subset(0..500);
    assert_eq!(
        net.predict_batch(test.features()),
        loaded.predict_batch(test.features())
    );
    // A network of another shape refuses the file and names the tensor.
    let mut wider = seq![
        Linear::<PIXELS, 256>::zeros(),
        Relu,
        Linear::<256, CLASSES>::zeros()
    ];
    let err = io::load_safetensors(&mut wider, &path).unwrap_err();
    assert!(
        err.to_string()
            .contains("`0.weight` has shape [128, 784], expected [256, 784]"),
        "{err}"
    );
    std::fs::remove_file(path).unwrap();
}
