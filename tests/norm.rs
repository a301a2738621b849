//! Normalisation layers and residual blocks with the rest of the library: `Net!`, the
//! trainer's training switch, saving and loading with PyTorch's names (running statistics
//! included), `Box<dyn Model>`, the summary, threads and training checkpoints.

use constnet::data::Dataset;
use constnet::rand::rngs::StdRng;
use constnet::rand::{RngExt, SeedableRng};
use constnet::{
    Net, io,
    nn::{
        BatchNorm1d, Build, Layer, LayerNorm, Linear, Model, Path, Relu, Residual, Role,
        SoftmaxCrossEntropy, summary,
    },
    optim::Adam,
    train::{Order, Trainer, accuracy},
    with_threads,
};

/// 6x6 images of one bright bar, horizontal (class 0) or vertical (class 1), with noise and
/// an offset that differs from image to image (what normalisation takes out).
fn bars(n: usize, seed: u64) -> Dataset<f32, 36, usize> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut rows = Vec::with_capacity(n * 36);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let (vertical, at) = (rng.random_range(0..2usize), rng.random_range(1..5usize));
        let offset = rng.random_range(-2.0..2.0f32);
        for y in 0..6 {
            for x in 0..6 {
                let on = if vertical == 1 { x == at } else { y == at };
                let value = if on { 1.0 } else { 0.0 } + rng.random_range(0.0..0.3);
                rows.push(value + offset);
            }
        }
        labels.push(vertical);
    }
    Dataset::from_rows(&rows, labels).expect("36 values a row")
}

type Block = Residual<Net![Linear<16, 16>, LayerNorm<16>, Relu, Linear<16, 16>]>;

type Normed = Net![
    Input<1, 6, 6>,
    Conv2d<1, 4, 3>, BatchNorm2d<4>, Relu, MaxPool2d<2>,
    Flatten, Linear<16, 16>, BatchNorm1d<16>, Relu,
    Block, Relu, Linear<16, 2>,
];

fn names_and_roles<N: Layer<f32, I, O>, const I: usize, const O: usize>(
    net: &N,
) -> Vec<(String, Role)> {
    let mut out = Vec::new();
    net.visit_params(&Path::ROOT, &mut |p| {
        out.push((p.full_name().to_string(), p.role))
    });
    out
}

fn trainer() -> Trainer<SoftmaxCrossEntropy, Adam> {
    Trainer::new(SoftmaxCrossEntropy, Adam::new(0.01).unwrap())
        .epochs(6)
        .batch_size(16)
        .order(Order::Shuffled { seed: 1 })
}

#[test]
fn a_normalised_residual_network_learns_and_saves_with_pytorchs_names() {
    let (train, test) = (bars(400, 1), bars(200, 2));
    let mut net = Normed::init(&mut StdRng::seed_from_u64(0));
    trainer().fit(&mut net, &train, None, &mut ()).unwrap();
    let learned = accuracy(&net, &test);
    assert!(learned >= 0.95, "test accuracy {learned}");

    let names = names_and_roles(&net);
    let expected = [
        ("0.weight", Role::Learned),
        ("0.bias", Role::Learned),
        ("1.weight", Role::Learned),
        ("1.bias", Role::Learned),
        ("1.running_mean", Role::Running),
        ("1.running_var", Role::Running),
        ("1.num_batches_tracked", Role::Count),
        ("5.weight", Role::Learned),
        ("5.bias", Role::Learned),
        ("6.weight", Role::Learned),
        ("6.bias", Role::Learned),
        ("6.running_mean", Role::Running),
        ("6.running_var", Role::Running),
        ("6.num_batches_tracked", Role::Count),
        ("8.inner.0.weight", Role::Learned),
        ("8.inner.0.bias", Role::Learned),
        ("8.inner.1.weight", Role::Learned),
        ("8.inner.1.bias", Role::Learned),
        ("8.inner.3.weight", Role::Learned),
        ("8.inner.3.bias", Role::Learned),
        ("10.weight", Role::Learned),
        ("10.bias", Role::Learned),
    ];
    let expected: Vec<_> = expected.iter().map(|(n, r)| (n.to_string(), *r)).collect();
    assert_eq!(names, expected);

    // The running statistics moved: 25 batches an epoch, 6 epochs.
    let bn = net.first().first().first().first().second();
    let bn: &BatchNorm1d<16> = bn;
    assert_eq!(bn.num_batches_tracked(), 150);
    assert!(bn.running_mean().iter().any(|&m| m != 0.0));

    // Saved and loaded: the same outputs in evaluation mode, running statistics included.
    let dir = std::env::temp_dir().join(format!("constnet-norm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("normed.safetensors");
    io::save_safetensors(&net, &path).unwrap();
    let mut loaded = Normed::init(&mut StdRng::seed_from_u64(9));
    io::load_safetensors(&mut loaded, &path).unwrap();
    let (a, b) = (
        net.predict_batch(test.features()),
        loaded.predict_batch(test.features()),
    );
    assert_eq!(a, b);
    let bn: &BatchNorm1d<16> = loaded.first().first().first().first().second();
    assert_eq!(bn.num_batches_tracked(), 150);

    // The file holds the count as PyTorch's int64 scalar, the statistics as f32 vectors.
    let bytes = std::fs::read(&path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let count = file.tensor("6.num_batches_tracked").unwrap();
    assert_eq!(count.dtype(), safetensors::Dtype::I64);
    assert!(count.shape().is_empty());
    assert_eq!(count.data(), 150i64.to_le_bytes());
    let var = file.tensor("1.running_var").unwrap();
    assert_eq!(
        (var.dtype(), var.shape()),
        (safetensors::Dtype::F32, &[4][..])
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_summary_shows_the_block_and_its_inner_layers() {
    let net = Normed::zeros();
    let table = summary(&net).to_string();
    for row in [
        "BatchNorm2d<4>",
        "BatchNorm1d<16>",
        "Residual (x + inner)",
        "└ inner.0 Linear<16, 16>",
        "└ inner.1 LayerNorm<16>",
        "└ inner.3 Linear<16, 16>",
    ] {
        assert!(table.contains(row), "{row} missing from\n{table}");
    }
    // Parameters: learned ones only (running statistics are buffers).
    let expected = (9 * 4 + 4)
        + 2 * 4
        + (16 * 16 + 16)
        + 2 * 16
        + (2 * (16 * 16 + 16) + 2 * 16)
        + (16 * 2 + 2);
    assert_eq!(summary(&net).total_params(), expected);
    assert_eq!(net.num_params(), expected);
}

#[test]
fn boxed_and_threaded_training_give_the_same_bits() {
    let train = bars(200, 3);
    let run = |threads: usize, boxed: bool| -> Vec<f32> {
        with_threads(threads, || {
            let net = Normed::init(&mut StdRng::seed_from_u64(4));
            let out = if boxed {
                let mut net: Box<dyn Model<f32, 36, 2>> = Box::new(net);
                trainer()
                    .epochs(2)
                    .fit(&mut net, &train, None, &mut ())
                    .unwrap();
                net.predict_batch(train.features())
            } else {
                let mut net = net;
                trainer()
                    .epochs(2)
                    .fit(&mut net, &train, None, &mut ())
                    .unwrap();
                net.predict_batch(train.features())
            };
            out.as_slice().to_vec()
        })
        .unwrap()
    };
    let one = run(1, false);
    assert_eq!(one, run(2, false));
    assert_eq!(one, run(3, true));
}

#[test]
fn a_resumed_run_ends_with_the_same_running_statistics() {
    let train = bars(160, 5);
    let dir = std::env::temp_dir().join(format!("constnet-norm-ckpt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("run.safetensors");
    let mut whole = Normed::init(&mut StdRng::seed_from_u64(6));
    trainer()
        .epochs(4)
        .fit(&mut whole, &train, None, &mut ())
        .unwrap();

    let mut first = Normed::init(&mut StdRng::seed_from_u64(6));
    let mut t = trainer().epochs(2);
    t.fit(&mut first, &train, None, &mut ()).unwrap();
    t.save_checkpoint(&mut first, &(), &path).unwrap();
    let mut resumed = Normed::init(&mut StdRng::seed_from_u64(99));
    let mut t = trainer().epochs(2);
    t.resume(&mut resumed, &mut (), &path).unwrap();
    t.fit(&mut resumed, &train, None, &mut ()).unwrap();
    let bits = |net: &Normed| {
        let mut out = Vec::new();
        net.visit_params(&Path::ROOT, &mut |p| {
            out.extend(p.value.iter().map(|v| v.to_bits()))
        });
        out
    };
    assert_eq!(bits(&whole), bits(&resumed));
    std::fs::remove_dir_all(&dir).ok();
}
