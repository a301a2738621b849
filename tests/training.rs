//! The training loop on real-data terms: callbacks that stop, early stopping and
//! checkpoints, schedules, continuation, dropout, train metrics, and optimizer state.

use std::ops::ControlFlow;

use constnet::data::datasets::two_moons;
use constnet::nalgebra::SVector;
use constnet::rand::SeedableRng;
use constnet::rand::rngs::StdRng;
use constnet::{
    Error, Net,
    data::{Csv, Dataset, StandardScaler, stratified_split},
    io,
    nn::{Build, Dropout, Layer, Linear, Mse, Relu, SoftmaxCrossEntropy, Tanh},
    optim::{Adam, Sgd},
    train::{
        Callback, Checkpoint, EarlyStopping, EpochReport, Metric, Params, Schedule, Trainer,
        evaluate,
    },
    with_threads,
};

type Moons = Net![Linear<2, 16>, Relu, Linear<16, 2>];
type Dropped = Net![Linear<2, 256>, Relu, Dropout, Linear<256, 2>];

fn moons(seed: u64) -> Moons {
    Moons::init(&mut StdRng::seed_from_u64(seed))
}

/// Every parameter, in order.
fn params<N: Layer<f32, 2, 2>>(net: &N) -> Vec<f32> {
    let mut out = Vec::new();
    net.visit_params(&constnet::nn::Path::ROOT, &mut |p| {
        out.extend_from_slice(p.value)
    });
    out
}

/// Records the parameters after every epoch, and stops after `stop_after` epochs.
struct Recorder {
    weights: Vec<Vec<f32>>,
    stop_after: usize,
}

impl Callback<f32> for Recorder {
    fn on_epoch(
        &mut self,
        net: &mut dyn Params<f32>,
        report: &EpochReport,
    ) -> Result<ControlFlow<()>, Error> {
        let mut w = Vec::new();
        net.params(&mut |p| w.extend_from_slice(p.value));
        self.weights.push(w);
        Ok(if report.epoch >= self.stop_after {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        })
    }
}

#[test]
fn a_callback_sees_the_weights_and_can_stop() {
    let data = two_moons::<f32>(200, 0.2, 1);
    let mut net = moons(1);
    let mut recorder = Recorder {
        weights: Vec::new(),
        stop_after: 3,
    };
    let history = Trainer::new(SoftmaxCrossEntropy, Adam::new(0.01).unwrap())
        .epochs(50)
        .fit(&mut net, &data, None, &mut recorder)
        .unwrap();
    assert_eq!(history.len(), 3);
    assert_eq!(recorder.weights.len(), 3);
    assert_eq!(recorder.weights[2], params(&net));
    assert_ne!(recorder.weights[0], recorder.weights[1]);
}

#[test]
fn early_stopping_restores_the_best_epochs_weights() {
    // Few samples and a large net: the validation loss turns up.
    let data = two_moons::<f32>(120, 0.35, 2);
    let (train, validation) = data.split_at(40);
    let mut net = <Net![Linear<2, 64>, Relu, Linear<64, 64>, Relu, Linear<64, 2>]>::init(
        &mut StdRng::seed_from_u64(2),
    );
    let mut weights = Vec::new();
    struct Keep<'a>(&'a mut Vec<Vec<f32>>);
    impl Callback<f32> for Keep<'_> {
        fn on_epoch(
            &mut self,
            net: &mut dyn Params<f32>,
            _: &EpochReport,
        ) -> Result<ControlFlow<()>, Error> {
            let mut w = Vec::new();
            net.params(&mut |p| w.extend_from_slice(p.value));
            self.0.push(w);
            Ok(ControlFlow::Continue(()))
        }
    }
    let mut callbacks = (
        Keep(&mut weights),
        EarlyStopping::new(Metric::ValidationLoss, 10),
    );
    let history = Trainer::new(SoftmaxCrossEntropy, Adam::new(0.01).unwrap())
        .epochs(1000)
        .batch_size(8)
        .fit(&mut net, &train, Some(&validation), &mut callbacks)
        .unwrap();
    let stop = callbacks.1;
    let best = stop.best_epoch().unwrap();
    assert_eq!(stop.stopped_after(), Some(history.len()));
    assert_eq!(
        history.len(),
        best + 10,
        "stopped after 10 epochs of patience"
    );
    let losses: Vec<f64> = history.iter().map(|r| r.validation.unwrap().loss).collect();
    let min = losses.iter().copied().fold(f64::INFINITY, f64::min);
    assert_eq!(losses[best - 1], min);
    assert_eq!(stop.best_value(), Some(min));
    // The network holds the best epoch's weights, not the last epoch's.
    let mut now = Vec::new();
    net.visit_params(&constnet::nn::Path::ROOT, &mut |p| {
        now.extend_from_slice(p.value)
    });
    assert_eq!(now, weights[best - 1]);
    assert_ne!(now, *weights.last().unwrap());
    assert_eq!(
        evaluate(&net, &SoftmaxCrossEntropy, &validation)
            .unwrap()
            .loss,
        min
    );
}

#[test]
fn early_stopping_on_a_missing_metric_is_an_error() {
    let data = two_moons::<f32>(50, 0.2, 3);
    let err = Trainer::new(SoftmaxCrossEntropy, Adam::new(0.01).unwrap())
        .fit(
            &mut moons(3),
            &data,
            None,
            &mut EarlyStopping::new(Metric::ValidationAccuracy, 3),
        )
        .unwrap_err();
    assert!(matches!(err, Error::MissingMetric { .. }), "{err}");
    assert!(err.to_string().contains("validation accuracy"), "{err}");
}

#[test]
fn a_checkpoint_holds_the_best_model() {
    let dir = std::env::temp_dir().join(format!("constnet-checkpoint-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("best.safetensors");
    let data = two_moons::<f32>(300, 0.3, 4);
    let (train, validation) = data.split_at(200);
    let mut net = moons(4);
    let mut checkpoint = Checkpoint::new(&path, Metric::ValidationAccuracy);
    let history = Trainer::new(SoftmaxCrossEntropy, Sgd::new(0.5).unwrap())
        .epochs(15)
        .fit(&mut net, &train, Some(&validation), &mut checkpoint)
        .unwrap();
    let best = checkpoint.best_epoch().unwrap();
    let accuracies: Vec<f64> = history
        .iter()
        .map(|r| r.validation.unwrap().accuracy.unwrap())
        .collect();
    let top = accuracies.iter().copied().fold(0.0, f64::max);
    assert_eq!(
        accuracies[best - 1],
        top,
        "the first epoch of the best accuracy"
    );
    assert!(checkpoint.saves() >= 1);
    let mut loaded = moons(99);
    io::load_safetensors(&mut loaded, &path).unwrap();
    let score = evaluate(&loaded, &SoftmaxCrossEntropy, &validation).unwrap();
    assert_eq!(score.accuracy, Some(top));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn schedules_set_each_epochs_rate_and_continue_across_fits() {
    let data = two_moons::<f32>(64, 0.2, 5);
    let schedule = Schedule::WarmupCosine {
        warmup: 2,
        epochs: 6,
        min_lr: 0.001,
    };
    let trainer = |epochs| {
        Trainer::new(
            SoftmaxCrossEntropy,
            Sgd::new(0.1).unwrap().momentum(0.9).unwrap(),
        )
        .epochs(epochs)
        .batch_size(8)
        .schedule(schedule)
    };
    let mut whole_net = moons(5);
    let whole = trainer(6)
        .fit(&mut whole_net, &data, None, &mut ())
        .unwrap();
    for r in &whole {
        assert_eq!(
            r.learning_rate,
            schedule.lr(0.1, r.epoch),
            "epoch {}",
            r.epoch
        );
    }
    // Three fits of two epochs: the same rates, the same weights, bit for bit.
    let mut parts_net = moons(5);
    let mut parts = trainer(2);
    let mut reports = Vec::new();
    for _ in 0..3 {
        reports.extend(parts.fit(&mut parts_net, &data, None, &mut ()).unwrap());
    }
    let rates = |h: &[EpochReport]| h.iter().map(|r| r.learning_rate).collect::<Vec<_>>();
    assert_eq!(rates(&reports), rates(&whole));
    assert_eq!(params(&parts_net), params(&whole_net));
}

#[test]
fn reduce_on_plateau_lowers_the_rate_when_the_loss_stalls() {
    let data = two_moons::<f32>(64, 0.3, 6);
    let (train, validation) = data.split_at(32);
    let history = Trainer::new(SoftmaxCrossEntropy, Adam::new(0.05).unwrap())
        .epochs(80)
        .batch_size(8)
        .schedule(Schedule::ReduceOnPlateau {
            metric: Metric::ValidationLoss,
            factor: 0.5,
            patience: 3,
            threshold: 1e-4,
            min_lr: 1e-4,
        })
        .fit(&mut moons(6), &train, Some(&validation), &mut ())
        .unwrap();
    let rates: Vec<f64> = history.iter().map(|r| r.learning_rate).collect();
    assert_eq!(rates[0], 0.05);
    assert!(rates.windows(2).all(|w| w[1] <= w[0]), "{rates:?}");
    assert!(*rates.last().unwrap() < 0.05, "{rates:?}");
    // Each cut halves the rate (down to the floor).
    for w in rates.windows(2) {
        assert!(
            w[1] == w[0] || w[1] == w[0] * 0.5 || w[1] == 1e-4,
            "{rates:?}"
        );
    }
}

/// Regression: one trainer used on two networks silently carried Adam's moments (and the
/// epoch count, and the schedule) from the first to the second.
#[test]
fn a_trainer_does_not_mix_two_networks_state() {
    let data = two_moons::<f32>(64, 0.2, 7);
    let mut trainer = Trainer::new(SoftmaxCrossEntropy, Adam::new(0.01).unwrap()).epochs(2);
    let mut first = moons(7);
    trainer.fit(&mut first, &data, None, &mut ()).unwrap();
    // The same network goes on; a clone of it is the same state and goes on too.
    trainer.fit(&mut first, &data, None, &mut ()).unwrap();
    let mut copy = first.clone();
    trainer.fit(&mut copy, &data, None, &mut ()).unwrap();
    // Another network is refused, and left untouched.
    let mut second = moons(8);
    let before = params(&second);
    let err = trainer.fit(&mut second, &data, None, &mut ()).unwrap_err();
    assert!(
        matches!(err, Error::OtherNetwork { epochs_done: 6 }),
        "{err}"
    );
    assert!(err.to_string().contains("restart"), "{err}");
    assert_eq!(params(&second), before);
    // So is the first after its weights were changed by hand.
    let mut changed = copy.clone();
    changed.first_mut().first_mut().bias_mut()[0] += 1.0;
    assert!(trainer.fit(&mut changed, &data, None, &mut ()).is_err());
    // After restart, the second trains exactly as with a new trainer.
    trainer.restart();
    trainer.fit(&mut second, &data, None, &mut ()).unwrap();
    let mut reference = moons(8);
    Trainer::new(SoftmaxCrossEntropy, Adam::new(0.01).unwrap())
        .epochs(2)
        .fit(&mut reference, &data, None, &mut ())
        .unwrap();
    assert_eq!(params(&second), params(&reference));
}

#[test]
fn dropout_training_is_the_same_on_any_thread_count_and_continues_across_fits() {
    let data = two_moons::<f32>(2048, 0.2, 9);
    let make = || {
        let mut net = Dropped::init(&mut StdRng::seed_from_u64(9));
        *net.first_mut().second_mut() = Dropout::new(0.3).unwrap().seed(5);
        net
    };
    let trainer = |epochs| {
        Trainer::new(SoftmaxCrossEntropy, Adam::new(0.01).unwrap())
            .epochs(epochs)
            .batch_size(256)
    };
    let mut one = make();
    trainer(2).fit(&mut one, &data, None, &mut ()).unwrap();
    let mut two = make();
    with_threads(2, || trainer(2).fit(&mut two, &data, None, &mut ()))
        .unwrap()
        .unwrap();
    assert_eq!(params(&one), params(&two));
    let mut halves = make();
    let mut t = trainer(1);
    t.fit(&mut halves, &data, None, &mut ()).unwrap();
    t.fit(&mut halves, &data, None, &mut ()).unwrap();
    assert_eq!(params(&one), params(&halves));
    // Without dropout the weights differ; after fit the layer is in evaluation mode.
    let mut plain = Dropped::init(&mut StdRng::seed_from_u64(9));
    *plain.first_mut().second_mut() = Dropout::new(0.0).unwrap();
    trainer(2).fit(&mut plain, &data, None, &mut ()).unwrap();
    assert_ne!(params(&one), params(&plain));
    assert!(!one.first().second().is_training());
    let x = SVector::from([0.5, 0.5]);
    assert_eq!(one.forward(&x), one.forward(&x));
}

#[test]
fn whole_set_train_metrics_are_the_networks_after_the_epoch() {
    let data = two_moons::<f32>(200, 0.2, 10);
    let mut net = moons(10);
    let history = Trainer::new(
        SoftmaxCrossEntropy,
        Sgd::new(0.3).unwrap().weight_decay(0.01).unwrap(),
    )
    .epochs(3)
    .evaluate_train(true)
    .fit(&mut net, &data, None, &mut ())
    .unwrap();
    let last = history.last().unwrap();
    let after = evaluate(&net, &SoftmaxCrossEntropy, &data).unwrap();
    assert_eq!(last.train, Some(after));
    assert_ne!(
        last.train.unwrap().loss,
        last.train_loss,
        "running mean vs whole set"
    );
    let text = last.to_string();
    assert!(
        text.contains("train loss") && !text.contains("running"),
        "{text}"
    );
    // ½·λ·Σw² over the weights (not the biases).
    let mut sum = 0.0;
    net.visit_params(&constnet::nn::Path::ROOT, &mut |p| {
        if p.decay {
            sum += p
                .value
                .iter()
                .map(|&w| f64::from(w) * f64::from(w))
                .sum::<f64>();
        }
    });
    assert!((last.weight_penalty - 0.005 * sum).abs() < 1e-12);
    assert!(text.contains("L2 penalty"), "{text}");
    let f1 = after.classes.unwrap().f1;
    assert!(f1 > 0.5 && f1 <= 1.0);
    assert!(after.regression.is_none());
    // Without evaluate_train the report says its numbers are running means.
    let plain = Trainer::new(SoftmaxCrossEntropy, Sgd::new(0.3).unwrap())
        .epochs(1)
        .fit(&mut moons(10), &data, None, &mut ())
        .unwrap();
    assert!(plain[0].train.is_none());
    assert!(plain[0].to_string().contains("running train loss"));
}

#[test]
fn regression_reports_r2_mae_rmse() {
    // y = x0 − 2·x1 + noise-free: a linear net fits it; R² → 1.
    let rows: Vec<([f64; 2], SVector<f64, 1>)> = (0..64)
        .map(|i| {
            let (a, b) = ((i % 8) as f64 / 4.0, (i / 8) as f64 / 4.0);
            ([a, b], SVector::from([a - 2.0 * b]))
        })
        .collect();
    let data = Dataset::from_row_arrays(rows).unwrap();
    let mut net = <Net![Linear<2, 1, f64>]>::zeros();
    let history = Trainer::new(Mse, Adam::new(0.05).unwrap())
        .epochs(200)
        .batch_size(16)
        .fit(&mut net, &data, Some(&data), &mut ())
        .unwrap();
    let r = history
        .last()
        .unwrap()
        .validation
        .unwrap()
        .regression
        .unwrap();
    assert!(r.r2 > 0.999 && r.mae < 0.02 && r.rmse < 0.03, "{r:?}");
    assert!(history.last().unwrap().to_string().contains("R²"));
}

/// The tabular workflow end to end: CSV in, stratified split, scaler fitted on the training
/// part, early stopping, and the scaler saved and loaded with the weights.
#[test]
fn iris_from_csv_to_a_saved_model() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/iris.csv");
    let iris = Csv::new()
        .target("species")
        .read_classes::<f32, 4>(path)
        .unwrap();
    let split = stratified_split(iris.data.targets(), 0.3, 0).unwrap();
    let (train, test) = split.apply(&iris.data);
    assert_eq!((train.len(), test.len()), (105, 45));
    let scaler = StandardScaler::fit(&train);
    let (train, test) = (scaler.transform(&train), scaler.transform(&test));
    type Iris = Net![Linear<4, 16>, Tanh, Linear<16, 3>];
    let mut net = Iris::init(&mut StdRng::seed_from_u64(0));
    let mut stop = EarlyStopping::new(Metric::ValidationLoss, 20);
    Trainer::new(SoftmaxCrossEntropy, Adam::new(0.01).unwrap())
        .epochs(500)
        .batch_size(16)
        .fit(&mut net, &train, Some(&test), &mut stop)
        .unwrap();
    let score = evaluate(&net, &SoftmaxCrossEntropy, &test).unwrap();
    assert!(score.accuracy.unwrap() >= 0.9, "{score:?}");

    let file =
        std::env::temp_dir().join(format!("constnet-iris-{}.safetensors", std::process::id()));
    io::save_safetensors_with(&net, &[("scaler", &scaler)], &file).unwrap();
    let mut loaded = Iris::zeros();
    let mut loaded_scaler = StandardScaler::identity();
    io::load_safetensors_with(&mut loaded, &mut [("scaler", &mut loaded_scaler)], &file).unwrap();
    std::fs::remove_file(&file).unwrap();
    let raw = iris.data.sample(120).0;
    assert_eq!(
        loaded.forward(&loaded_scaler.apply(&raw)),
        net.forward(&scaler.apply(&raw))
    );
}

/// Regression: every `fit` replayed the shuffle stream of all earlier epochs, so going on one
/// epoch at a time cost O(E²) (a one-epoch fit on 442 samples took 4.4 ms at epoch 1 and
/// 53 ms at epoch 17,500). The trainer now keeps the stream's state: the last fits of a long
/// run of one-epoch fits cost what the first ones did.
#[test]
fn going_on_one_epoch_at_a_time_costs_the_same_at_every_epoch() {
    let data = two_moons::<f32>(442, 0.1, 0);
    let mut net = Linear::<2, 2>::zeros();
    let mut trainer = Trainer::new(SoftmaxCrossEntropy, Sgd::new(0.01).unwrap())
        .epochs(1)
        .batch_size(442);
    let mut bucket = |n: usize| {
        let start = std::time::Instant::now();
        for _ in 0..n {
            trainer.fit(&mut net, &data, None, &mut ()).unwrap();
        }
        start.elapsed().as_secs_f64()
    };
    // The fastest of three runs of 50 fits, so that a moment of load on a shared machine does
    // not count (a CI run once saw the last 100 fits take 3.1 times the first while a build
    // ran beside it).
    let mut fastest = |runs: usize| (0..runs).map(|_| bucket(50)).fold(f64::INFINITY, f64::min);
    let first = fastest(3);
    for _ in 0..10 {
        fastest(1);
    }
    let last = fastest(3);
    // Quadratic: each of the last fits replays about 700 epochs' shuffles, the first about 100.
    assert!(
        last < 3.0 * first,
        "first 50 fits {first:.3} s, last 50 {last:.3} s"
    );
}

/// Regression (issue 20, item 12): a cosine schedule reaching a minimum of 0 before the last
/// epoch made `fit` fail with "invalid learning rate 0" (PyTorch allows 0); a warm-up as long
/// as the whole schedule was accepted and jumped back to the base rate after it. Past its end
/// a schedule stays at its last rate; a warm-up must leave epochs to decay in.
#[test]
fn a_schedule_may_end_at_zero_and_stays_there() {
    let train = two_moons::<f32>(100, 0.1, 0);
    let mut net = moons(0);
    let history = Trainer::new(SoftmaxCrossEntropy, Adam::new(0.05).unwrap())
        .epochs(5)
        .schedule(Schedule::Cosine {
            epochs: 3,
            min_lr: 0.0,
        })
        .fit(&mut net, &train, None, &mut ())
        .unwrap();
    let rates: Vec<f64> = history.iter().map(|r| r.learning_rate).collect();
    assert_eq!(rates[3..], [0.0, 0.0], "{rates:?}");
    let err = Trainer::new(SoftmaxCrossEntropy, Adam::new(0.05).unwrap())
        .epochs(5)
        .schedule(Schedule::WarmupCosine {
            warmup: 4,
            epochs: 4,
            min_lr: 0.0,
        })
        .fit(&mut net, &train, None, &mut ())
        .unwrap_err();
    assert!(err.to_string().contains("warm-up"), "{err}");
}

/// Regression (issue 20, item 4): `epochs(2^40)` on a tiny set ran until the epoch history,
/// grown by an infallible push, could not be allocated, and aborted the process (after 12 s
/// here). A fit asks for at most `Trainer::MAX_EPOCHS` epochs, so that its history is
/// bounded; more is an error at once, with the network untouched.
#[test]
fn more_epochs_than_a_history_can_hold_is_an_error_at_once() {
    let data = Dataset::<f32, 2, usize>::from_rows(&[0.0, 1.0, 1.0, 0.0], vec![0, 1]).unwrap();
    let mut net = moons(3);
    let before = params(&net);
    let started = std::time::Instant::now();
    let err = Trainer::new(SoftmaxCrossEntropy, Sgd::new(0.1).unwrap())
        .epochs(1 << 40)
        .fit(&mut net, &data, None, &mut ())
        .unwrap_err();
    assert!(started.elapsed().as_secs() < 5, "it trained before failing");
    assert!(
        matches!(err, Error::InvalidHyperparameter { name: "epochs", .. }),
        "{err}"
    );
    assert_eq!(params(&net), before);
    assert!(err.to_string().contains("epochs"), "{err}");
}
