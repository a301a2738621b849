//! Convolutional networks with the rest of the library: the trainer, dropout, the optimizers,
//! `Box<dyn Model>`, saving and loading, threads.

use constnet::data::Dataset;
use constnet::rand::rngs::StdRng;
use constnet::rand::{RngExt, SeedableRng};
use constnet::{
    Batch, Net, io,
    nn::{Build, Dropout, Layer, Model, Relu, SoftmaxCrossEntropy, Tanh, summary},
    optim::{Adam, Sgd},
    train::{Order, Trainer, accuracy},
    with_threads,
};

/// 8x8 images of one bright bar, horizontal (class 0) or vertical (class 1), at a random
/// place and brightness, with noise: not linearly separable in any one pixel.
fn bars(n: usize, seed: u64) -> Dataset<f32, 64, usize> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut rows = Vec::with_capacity(n * 64);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let (vertical, at) = (rng.random_range(0..2usize), rng.random_range(1..7usize));
        let bright = rng.random_range(0.5..1.0f32);
        for y in 0..8 {
            for x in 0..8 {
                let on = if vertical == 1 { x == at } else { y == at };
                rows.push(if on { bright } else { 0.0 } + rng.random_range(0.0..0.2));
            }
        }
        labels.push(vertical);
    }
    Dataset::from_rows(&rows, labels).expect("64 values a row")
}

type Bars = Net![
    Input<1, 8, 8>,
    Conv2d<1, 4, 3, 1, 1>, Relu, MaxPool2d<2>,
    Conv2d<4, 6, 3>, Tanh, AvgPool2d<2>,
    Flatten, Dropout, Linear<6, 2>,
];

#[test]
fn a_cnn_learns_with_the_trainer_dropout_and_adam_and_saves_in_pytorchs_layout() {
    let (train, test) = (bars(400, 1), bars(200, 2));
    let mut net = Bars::init(&mut StdRng::seed_from_u64(0));
    *net.first_mut().second_mut() = Dropout::new(0.2).unwrap().seed(3);
    Trainer::new(SoftmaxCrossEntropy, Adam::new(0.01).unwrap())
        .epochs(15)
        .batch_size(16)
        .order(Order::Shuffled { seed: 1 })
        .fit(&mut net, &train, None, &mut ())
        .unwrap();
    let learned = accuracy(&net, &test);
    assert!(learned >= 0.95, "test accuracy {learned}");

    // PyTorch's names and shapes, then the same outputs after loading.
    let dir = std::env::temp_dir().join(format!("constnet-cnn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bars.safetensors");
    io::save_safetensors(&net, &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut shapes: Vec<(String, Vec<usize>)> = file
        .tensors()
        .into_iter()
        .map(|(name, t)| (name, t.shape().to_vec()))
        .collect();
    shapes.sort();
    assert_eq!(
        shapes,
        [
            ("0.bias".to_string(), vec![4]),
            ("0.weight".to_string(), vec![4, 1, 3, 3]),
            ("3.bias".to_string(), vec![6]),
            ("3.weight".to_string(), vec![6, 4, 3, 3]),
            ("8.bias".to_string(), vec![2]),
            ("8.weight".to_string(), vec![2, 6]),
        ]
    );
    let mut loaded = Bars::zeros();
    io::load_safetensors(&mut loaded, &path).unwrap();
    assert_eq!(
        loaded.predict_batch(test.features()),
        net.predict_batch(test.features())
    );
    // A file of another network is an error, not a panic.
    type Other = Net![Input<1, 8, 8>, Conv2d<1, 5, 3, 1, 1>, Relu, MaxPool2d<2>, Conv2d<5, 6, 3>, Tanh, AvgPool2d<2>, Flatten, Dropout, Linear<6, 2>];
    let err = io::load_safetensors(&mut Other::zeros(), &path).unwrap_err();
    assert!(err.to_string().contains("0.weight"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_boxed_cnn_trains_like_the_typed_one_on_any_thread_count() {
    let train = bars(300, 4);
    let fit = |threads: usize, boxed: bool| {
        let net = Bars::init(&mut StdRng::seed_from_u64(5));
        let mut trainer = Trainer::new(
            SoftmaxCrossEntropy,
            Sgd::new(0.05).unwrap().momentum(0.9).unwrap(),
        )
        .epochs(3)
        .batch_size(32)
        .order(Order::Shuffled { seed: 2 });
        with_threads(threads, || {
            if boxed {
                let mut net: Box<dyn Model<f32, 64, 2>> = Box::new(net);
                trainer.fit(&mut net, &train, None, &mut ()).unwrap();
                net.predict_batch(train.features())
            } else {
                let mut net = net;
                trainer.fit(&mut net, &train, None, &mut ()).unwrap();
                net.predict_batch(train.features())
            }
        })
        .unwrap()
    };
    let typed: Batch<f32, 2> = fit(1, false);
    assert_eq!(fit(1, true), typed);
    assert_eq!(fit(2, false), typed);
    assert_eq!(fit(3, true), typed);
}

#[test]
fn the_summary_shows_images_as_channels_height_and_width() {
    let table = summary(&Bars::zeros()).to_string();
    assert!(
        table.contains("Conv2d(1 → 4, 3x3, padding 1)  1 x 8 x 8 → 4 x 8 x 8"),
        "{table}"
    );
    assert!(table.contains("AvgPool2d(2x2)"), "{table}");
    assert!(table.contains("6 x 1 x 1 → 6"), "{table}");
    assert_eq!(
        summary(&Bars::zeros()).total_params(),
        4 * 9 + 4 + 6 * 36 + 6 + 6 * 2 + 2
    );
}

#[path = "../examples/common/mnist_nets.rs"]
mod mnist_nets;
use mnist_nets::Cnn as Reference;

type Mlp = Net![Input<784>, Linear<784, 128>, Relu, Linear<128, 10>];

/// `predict_batch` runs a minibatch a chunk of samples at a time (24 for the reference CNN,
/// 280 for the MLP): every sample's outputs are those of one `forward_batch` over the whole
/// minibatch, bit for bit, with whole and partial chunks, on one and two threads.
#[test]
fn inference_in_chunks_gives_the_whole_batchs_outputs() {
    let mut rng = StdRng::seed_from_u64(5);
    let cnn = Reference::init(&mut rng);
    let mlp = Mlp::init(&mut rng);
    for n in [1, 7, 24, 50, 301, 600] {
        let x = Batch::<f32, 784>::from_fn(n, |_, _| rng.random_range(0.0..1.0f32));
        for threads in [1, 2] {
            with_threads(threads, || {
                let mut whole = Batch::zeros(n);
                cnn.forward_batch(&x, &mut whole, &mut Default::default());
                assert_eq!(cnn.predict_batch(&x), whole, "CNN, {n} samples");
                let mut whole = Batch::zeros(n);
                mlp.forward_batch(&x, &mut whole, &mut Default::default());
                assert_eq!(mlp.predict_batch(&x), whole, "MLP, {n} samples");
            })
            .expect("threads");
        }
    }
}
