//! The embedded code, run on the host, against the `std` build: the network built from the
//! exported statics gives the very outputs of the network loaded from the safetensors file
//! it was exported from, on every MNIST test image.

use std::path::Path;

use constnet::data::mnist::read_mnist;
use constnet::nalgebra::SVector;
use constnet::{
    Net, io,
    nn::{Build, Layer, Linear, Relu},
    train::accuracy,
};
use constnet_embedded::{
    BUNDLED, PIXELS, bundled, classify, cnn_classify, cnn_correct_bundled, cnn_model, cnn_scores,
    correct_bundled, input, model, scores,
};

type Trained = Net![Linear<784, 32>, Relu, Linear<32, 10>];

fn trained() -> Trained {
    let mut net = Trained::zeros();
    io::load_safetensors(
        &mut net,
        Path::new(env!("CARGO_MANIFEST_DIR")).join("model.safetensors"),
    )
    .expect("embedded/model.safetensors");
    net
}

fn mnist_test() -> constnet::data::mnist::MnistSet {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/mnist");
    read_mnist(
        dir.join("t10k-images-idx3-ubyte.gz"),
        dir.join("t10k-labels-idx1-ubyte.gz"),
    )
    .expect("the bundled MNIST test set")
}

#[test]
fn static_weights_give_the_trained_networks_outputs_bit_for_bit() {
    let net = trained();
    let test = mnist_test();
    let frozen = model::network();
    for i in 0..test.len() {
        let (x, _) = test.sample(i);
        assert_eq!(frozen.forward(&x), net.forward(&x), "image {i}");
    }
    // The minibatch path too, and the accuracy the MNIST example printed when it saved it.
    assert_eq!(
        frozen.predict_batch(test.features()),
        net.predict_batch(test.features())
    );
    assert_eq!(accuracy(&frozen, &test), accuracy(&net, &test));
    assert_eq!(accuracy(&net, &test), 0.962);
}

#[test]
fn the_bundled_digits_are_the_first_test_images_and_classified_as_std_does() {
    let net = trained();
    let test = mnist_test();
    for k in 0..BUNDLED {
        let (image, label) = bundled(k);
        let (x, &expected_label) = test.sample(k);
        assert_eq!(usize::from(label), expected_label);
        assert_eq!(input(image), x, "pixel scaling as the MNIST loader's");
        let std_scores: SVector<f32, 10> = net.forward(&x);
        assert_eq!(scores(image), std_scores);
        assert_eq!(
            usize::from(classify(image)),
            constnet::train::argmax(std_scores.as_slice())
        );
    }
    // The 784-32-10 network gets 96.2% of the test set; of these 32 it misses one.
    assert_eq!(correct_bundled(), 31);
    assert_eq!(PIXELS, 784);
}

/// The reference CNN of the `mnist_cnn` example, as `Net!` names it.
type Cnn = Net![
    Input<1, 28, 28>,
    Conv2d<1, 8, 5>, Relu, MaxPool2d<2>,
    Conv2d<8, 16, 5>, Relu, MaxPool2d<2>,
    Flatten,
    Linear<256, 64>, Relu,
    Linear<64, 10>,
];

#[test]
fn the_static_cnn_gives_the_trained_networks_outputs_bit_for_bit() {
    let mut net = Cnn::zeros();
    io::load_safetensors(
        &mut net,
        Path::new(env!("CARGO_MANIFEST_DIR")).join("cnn.safetensors"),
    )
    .expect("embedded/cnn.safetensors");
    let test = mnist_test();
    let frozen = cnn_model::network();
    for i in 0..test.len() {
        let (x, _) = test.sample(i);
        assert_eq!(frozen.forward(&x), net.forward(&x), "image {i}");
    }
    // The minibatch path too, and the accuracy the mnist_cnn example printed when it saved it.
    assert_eq!(
        frozen.predict_batch(test.features()),
        net.predict_batch(test.features())
    );
    assert_eq!(accuracy(&frozen, &test), accuracy(&net, &test));
    assert_eq!(accuracy(&net, &test), 0.9909);
    for k in 0..BUNDLED {
        let (image, _) = bundled(k);
        let (x, _) = test.sample(k);
        assert_eq!(cnn_scores(image), net.forward(&x));
        assert_eq!(
            usize::from(cnn_classify(image)),
            constnet::train::argmax(net.forward(&x).as_slice())
        );
    }
    assert_eq!(cnn_correct_bundled(), 32);
}
