//! Training checkpoints: a run stopped after epoch k and resumed from its checkpoint ends bit
//! for bit where the uninterrupted run ends, in this process and in another one; a checkpoint
//! of another network or optimizer, or a plain weights file, is a clear error.

use std::path::{Path, PathBuf};
use std::process::Command;

use constnet::rand::SeedableRng;
use constnet::rand::rngs::StdRng;
use constnet::{
    Error, Net,
    data::{Dataset, datasets},
    io,
    nn::{Build, Dropout, Linear, Relu, SoftmaxCrossEntropy},
    optim::{Adam, Sgd},
    train::{EarlyStopping, Metric, Schedule, Trainer},
};

type Mlp = Net![Linear<2, 16>, Relu, Dropout, Linear<16, 16>, Relu, Linear<16, 2>];

const EPOCHS: usize = 6;
const STOP_AFTER: usize = 2;

fn data() -> (Dataset<f32, 2, usize>, Dataset<f32, 2, usize>) {
    datasets::two_moons::<f32>(300, 0.25, 7).split_at(240)
}

fn trainer(epochs: usize) -> Trainer<SoftmaxCrossEntropy, Adam> {
    Trainer::new(SoftmaxCrossEntropy, Adam::new(0.02).unwrap())
        .epochs(epochs)
        .batch_size(16)
        .schedule(Schedule::Cosine {
            epochs: EPOCHS,
            min_lr: 1e-3,
        })
}

fn stopper() -> EarlyStopping {
    // Patient enough to run all epochs, and so strict that only epoch 1 counts as best: at
    // the end it puts back epoch 1's weights, which a resumed run has only from the
    // checkpoint (the losses of the epochs after the resume check the rest of the run).
    EarlyStopping::new(Metric::ValidationLoss, 100).min_delta(1e9)
}

fn fresh(seed: u64) -> Mlp {
    let mut net = Mlp::init(&mut StdRng::seed_from_u64(seed));
    *net.first_mut().first_mut().first_mut().second_mut() = Dropout::new(0.2).unwrap().seed(5);
    net
}

fn weights(net: &Mlp) -> Vec<u8> {
    io::to_safetensors(net).unwrap()
}

fn uninterrupted() -> (Vec<u8>, Vec<f64>) {
    let (train, validation) = data();
    let mut net = fresh(1);
    let history = trainer(EPOCHS)
        .fit(&mut net, &train, Some(&validation), &mut stopper())
        .unwrap();
    (
        weights(&net),
        history.iter().map(|r| r.train_loss).collect(),
    )
}

/// The first part of an interrupted run: `STOP_AFTER` epochs, a checkpoint after each.
fn first_part(path: &Path) {
    let (train, validation) = data();
    let mut net = fresh(1);
    trainer(STOP_AFTER)
        .checkpoint_every_epoch(path)
        .fit(&mut net, &train, Some(&validation), &mut stopper())
        .unwrap();
}

/// The rest, in a fresh network, trainer and callback that know nothing but the file.
fn second_part(path: &Path) -> (Vec<u8>, Vec<f64>) {
    let (train, validation) = data();
    let mut net = fresh(99);
    let mut stop = stopper();
    let mut rest = trainer(EPOCHS - STOP_AFTER);
    rest.resume(&mut net, &mut stop, path).unwrap();
    assert_eq!(rest.epochs_done(), STOP_AFTER);
    let history = rest
        .fit(&mut net, &train, Some(&validation), &mut stop)
        .unwrap();
    assert_eq!(history[0].epoch, STOP_AFTER + 1);
    (
        weights(&net),
        history.iter().map(|r| r.train_loss).collect(),
    )
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("constnet-checkpoint-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn a_resumed_run_ends_bit_for_bit_where_the_uninterrupted_run_ends() {
    let (whole, losses) = uninterrupted();
    let path = scratch("in-process.safetensors");
    first_part(&path);
    let (resumed, rest) = second_part(&path);
    assert_eq!(
        rest,
        losses[STOP_AFTER..],
        "every epoch after the resume is the same"
    );
    assert!(resumed == whole, "the final weights differ");
}

/// The child half of the test below, run in its own process; ignored when run alone.
#[test]
#[ignore = "run by a_run_resumed_in_another_process_ends_where_the_uninterrupted_run_ends"]
fn child_writes_a_checkpoint() {
    if let Some(path) = std::env::var_os("CONSTNET_CHECKPOINT") {
        first_part(Path::new(&path));
    }
}

#[test]
fn a_run_resumed_in_another_process_ends_where_the_uninterrupted_run_ends() {
    let path = scratch("other-process.safetensors");
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_writes_a_checkpoint",
            "--ignored",
            "--quiet",
        ])
        .env("CONSTNET_CHECKPOINT", &path)
        .status()
        .unwrap();
    assert!(status.success());
    assert!(path.exists(), "the other process wrote the checkpoint");
    let (resumed, _) = second_part(&path);
    assert!(resumed == uninterrupted().0, "the final weights differ");
}

#[test]
fn a_checkpoint_of_another_network_optimizer_or_kind_is_a_clear_error() {
    let path = scratch("mismatch.safetensors");
    first_part(&path);
    let mut stop = stopper();

    // Another architecture: names the tensor.
    let mut wide = <Net![Linear<2, 32>, Relu, Dropout, Linear<32, 16>, Relu, Linear<16, 2>]>::init(
        &mut StdRng::seed_from_u64(0),
    );
    let err = trainer(1).resume(&mut wide, &mut stop, &path).unwrap_err();
    assert!(matches!(err.kind(), Error::Weights { .. }), "{err}");
    assert!(err.to_string().contains("0.weight"), "{err}");

    // Another optimizer.
    let mut net = fresh(3);
    let before = weights(&net);
    let mut sgd = Trainer::new(
        SoftmaxCrossEntropy,
        Sgd::new(0.1).unwrap().momentum(0.9).unwrap(),
    );
    let err = sgd.resume(&mut net, &mut stop, &path).unwrap_err();
    assert!(matches!(err, Error::OptimizerState { .. }), "{err}");
    assert!(err.to_string().contains("Adam"), "{err}");
    assert!(weights(&net) == before, "the network is unchanged");
    assert_eq!(sgd.epochs_done(), 0);

    // Other callbacks: no early-stopping state under `callbacks`.
    let err = trainer(1).resume(&mut net, &mut (), &path).map(|_| ());
    assert!(err.is_ok(), "a callback without state needs none: {err:?}");
    let mut two = (stopper(), stopper());
    let err = trainer(1)
        .resume(&mut fresh(3), &mut two, &path)
        .unwrap_err();
    assert!(matches!(err, Error::Checkpoint { .. }), "{err}");

    // A plain weights file is not a checkpoint.
    let plain = scratch("plain.safetensors");
    io::save_safetensors(&fresh(4), &plain).unwrap();
    let err = trainer(1)
        .resume(&mut fresh(5), &mut stopper(), &plain)
        .unwrap_err();
    assert!(
        err.to_string().contains("not a training checkpoint"),
        "{err}"
    );
}

/// Extras such as a scaler come back from the checkpoint with `Keep`.
#[test]
fn a_scaler_kept_in_the_checkpoint_comes_back() {
    use constnet::{data::StandardScaler, train::Keep};
    let (train, validation) = data();
    let path = scratch("scaler.safetensors");
    let mut scaler = StandardScaler::fit(&train);
    let mut net = fresh(1);
    let mut t = trainer(1);
    t.fit(&mut net, &train, Some(&validation), &mut ()).unwrap();
    t.save_checkpoint(&mut net, &(stopper(), Keep("scaler", &mut scaler)), &path)
        .unwrap();
    let mut other = StandardScaler::fit(&validation);
    assert_ne!(format!("{other:?}"), format!("{scaler:?}"));
    let mut callbacks = (stopper(), Keep("scaler", &mut other));
    trainer(1)
        .resume(&mut fresh(2), &mut callbacks, &path)
        .unwrap();
    assert_eq!(format!("{other:?}"), format!("{scaler:?}"));
}
