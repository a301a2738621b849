//! Every invalid argument or input gives a typed error that names the problem.

use constnet::data::datasets::xor;
use constnet::nalgebra::SVector;
use constnet::rand::SeedableRng;
use constnet::{
    Error,
    data::Dataset,
    nn::{Init, Linear, LogisticLoss, Mse, SoftmaxCrossEntropy, Tanh},
    optim::{Adam, Sgd},
    seq,
    train::{Trainer, evaluate},
};

fn net() -> impl constnet::nn::Layer<f32, 2, 2> {
    let mut rng = constnet::rand::rngs::StdRng::seed_from_u64(0);
    seq![
        Linear::<2, 4>::new(Init::XavierUniform, &mut rng),
        Tanh,
        Linear::<4, 2>::new(Init::XavierUniform, &mut rng),
    ]
}

#[test]
fn batch_size_zero_is_rejected() {
    let err = Trainer::new(SoftmaxCrossEntropy, Sgd::new(0.1).unwrap())
        .batch_size(0)
        .fit(&mut net(), &xor(), None, &mut ())
        .unwrap_err();
    assert!(matches!(err, Error::InvalidBatchSize { batch_size: 0 }));
    assert!(err.to_string().contains("batch size"));
}

#[test]
fn learning_rates_must_be_finite_and_positive() {
    for lr in [0.0, -0.1, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let err = Sgd::<f32>::new(lr).unwrap_err();
        assert!(matches!(err, Error::InvalidLearningRate { .. }), "{lr}");
        assert!(err.to_string().contains("learning rate"));
        assert!(Adam::<f32>::new(lr).is_err());
    }
    // Regression: positive as an f64, zero (or infinite) as an f32, and accepted.
    for lr in [1e-50, 1e300] {
        assert!(Sgd::<f32>::new(lr).is_err(), "{lr}");
        assert!(Adam::<f32>::new(lr).is_err(), "{lr}");
    }
    assert!(Sgd::<f64>::new(1e-50).is_ok());
}

#[test]
fn class_labels_must_be_below_the_output_count() {
    let data = Dataset::<f32, 2, usize>::from_rows(&[0.0; 6], vec![0, 1, 2]).unwrap();
    let err = Trainer::new(SoftmaxCrossEntropy, Sgd::new(0.1).unwrap())
        .fit(&mut net(), &data, None, &mut ())
        .unwrap_err();
    assert!(matches!(
        err,
        Error::LabelOutOfRange {
            index: 2,
            label: 2,
            classes: 2
        }
    ));
    assert!(err.to_string().contains("sample 2 has class label 2"));
    // In a validation set too, before any training happens.
    let err = Trainer::new(SoftmaxCrossEntropy, Sgd::new(0.1).unwrap())
        .fit(&mut net(), &xor(), Some(&data), &mut ())
        .unwrap_err();
    assert!(matches!(err, Error::LabelOutOfRange { index: 2, .. }));
    assert!(evaluate(&net(), &SoftmaxCrossEntropy, &data).is_err());
}

#[test]
fn binary_targets_must_lie_in_the_unit_interval() {
    let data = Dataset::<f32, 1, f32>::from_rows(&[0.0, 1.0], vec![1.0, 2.0]).unwrap();
    let err = Trainer::new(LogisticLoss, Sgd::new(0.1).unwrap())
        .fit(&mut Linear::<1, 1>::zeros(), &data, None, &mut ())
        .unwrap_err();
    assert!(matches!(err, Error::InvalidTarget { index: 1, .. }));
}

#[test]
fn non_finite_inputs_are_rejected_where_they_enter() {
    let err =
        Dataset::<f32, 2, usize>::from_rows(&[0.0, 1.0, f32::NAN, 0.0], vec![0, 1]).unwrap_err();
    assert!(matches!(
        err,
        Error::NonFinite {
            index: 1,
            component: 0,
            ..
        }
    ));
    let err =
        Dataset::from_samples([(SVector::<f64, 1>::from([f64::INFINITY]), 0usize)]).unwrap_err();
    assert!(matches!(err, Error::NonFinite { index: 0, .. }));
    let err =
        Dataset::<f32, 1, SVector<f32, 1>>::from_rows(&[0.0], vec![SVector::from([f32::NAN])])
            .map(|data| {
                Trainer::new(Mse, Sgd::new(0.1).unwrap()).fit(
                    &mut Linear::<1, 1>::zeros(),
                    &data,
                    None,
                    &mut (),
                )
            })
            .unwrap()
            .unwrap_err();
    assert!(matches!(err, Error::InvalidTarget { index: 0, .. }));
    assert!(Linear::<1, 2, f32>::from_rows(&[1.0, f32::NAN], &[0.0, 0.0]).is_err());
}

#[test]
fn an_empty_training_set_is_rejected() {
    let data = Dataset::<f32, 2, usize>::from_rows(&[], vec![]).unwrap();
    let err = Trainer::new(SoftmaxCrossEntropy, Sgd::new(0.1).unwrap())
        .fit(&mut net(), &data, None, &mut ())
        .unwrap_err();
    assert!(matches!(err, Error::EmptyDataset { .. }));
}

#[test]
fn a_diverging_loss_stops_training_with_epoch_and_batch() {
    // Regression with a learning rate far too large: the weights blow up within an epoch.
    let xs: Vec<f32> = (0..64).map(|i| i as f32).collect();
    let targets = xs.iter().map(|&x| SVector::from([3.0 * x])).collect();
    let data = Dataset::<f32, 1, SVector<f32, 1>>::from_rows(&xs, targets).unwrap();
    let mut net = Linear::<1, 1>::zeros();
    let err = Trainer::new(Mse, Sgd::new(10.0).unwrap())
        .batch_size(4)
        .epochs(5)
        .fit(&mut net, &data, None, &mut ())
        .unwrap_err();
    match err {
        Error::Diverged { epoch, batch, loss } => {
            assert!(epoch >= 1 && batch >= 1, "{epoch} {batch}");
            assert!(!loss.is_finite());
        }
        other => panic!("expected Diverged, got {other}"),
    }
}

/// Regression: `batch_size(1 << 32)` on the 4-sample XOR set aborted allocating room for
/// 2^32 targets; a batch larger than the set now trains on the whole set at once.
#[test]
fn a_batch_larger_than_the_dataset_is_the_whole_dataset() {
    for batch_size in [4, 1 << 32, usize::MAX] {
        let mut net = net();
        let mut batches = 0;
        struct Count<'a>(&'a mut usize);
        impl constnet::train::Callback<f32> for Count<'_> {
            fn on_batch(&mut self, p: &constnet::train::BatchProgress) {
                assert_eq!(p.batches, 1);
                *self.0 += 1;
            }
        }
        Trainer::new(SoftmaxCrossEntropy, Sgd::new(0.1).unwrap())
            .batch_size(batch_size)
            .epochs(3)
            .fit(&mut net, &xor(), None, &mut Count(&mut batches))
            .unwrap();
        assert_eq!(batches, 3);
    }
}

/// A regression set on which SGD at a huge rate sends the weights to infinity in its first
/// update, while the loss measured before that update is still finite.
fn exploding_regression() -> (Dataset<f32, 1, SVector<f32, 1>>, Trainer<Mse, Sgd>) {
    let data = Dataset::from_rows(&[64.0], vec![SVector::from([192.0])]).unwrap();
    (
        data,
        Trainer::new(Mse, Sgd::new(1e36).unwrap()).batch_size(1),
    )
}

/// Regression: `epochs(usize::MAX)` panicked with "capacity overflow" before the first
/// epoch; the history now grows as epochs complete (here training stops after epoch 1), and
/// more than `Trainer::MAX_EPOCHS` is an error before any training.
#[test]
fn a_huge_epoch_count_allocates_nothing_up_front() {
    let (data, trainer) = exploding_regression();
    let err = trainer
        .epochs(Trainer::<Mse, Sgd>::MAX_EPOCHS)
        .fit(&mut Linear::<1, 1>::zeros(), &data, None, &mut ())
        .unwrap_err();
    assert!(
        matches!(err, Error::NonFiniteParameter { epoch: Some(1), .. }),
        "{err}"
    );
    let (data, trainer) = exploding_regression();
    let err = trainer
        .epochs(usize::MAX)
        .fit(&mut Linear::<1, 1>::zeros(), &data, None, &mut ())
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidHyperparameter { name: "epochs", .. }),
        "{err}"
    );
}

/// Regression: one epoch of one batch with a huge learning rate returned `Ok` with
/// infinite weights; the parameters are now checked after every epoch.
#[test]
fn divergence_on_the_last_update_of_an_epoch_is_reported() {
    let (data, trainer) = exploding_regression();
    let mut net = Linear::<1, 1>::zeros();
    let err = trainer
        .epochs(1)
        .fit(&mut net, &data, Some(&data), &mut ())
        .unwrap_err();
    assert!(!net.weight()[0].is_finite());
    assert!(
        matches!(
            &err,
            Error::NonFiniteParameter { tensor, row: 0, column: 0, epoch: Some(1) }
                if tensor == "0.weight"
        ),
        "{err}"
    );
    assert!(err.to_string().contains("after epoch 1"), "{err}");
}

/// Regression: these panicked ("Matrix index out of bounds" at src/loss.rs:140).
#[test]
fn single_steps_refuse_labels_outside_the_outputs() {
    let x = SVector::from([0.0, 1.0]);
    for label in [2, usize::MAX] {
        let mut n = net();
        let mut sgd = Sgd::new(0.1).unwrap();
        let err = constnet::train::train_sample(&mut n, &SoftmaxCrossEntropy, &mut sgd, &x, &label)
            .unwrap_err();
        assert!(
            matches!(err, Error::LabelOutOfRange { classes: 2, .. }),
            "{err}"
        );
        let xb = constnet::Batch::<f32, 2>::zeros(2);
        let mut workspace = constnet::train::Workspace::new();
        let err = workspace
            .step(&mut n, &SoftmaxCrossEntropy, &mut sgd, &xb, &[0, label])
            .unwrap_err();
        assert!(
            matches!(err, Error::LabelOutOfRange { index: 1, .. }),
            "{err}"
        );
        let err = workspace
            .step(&mut n, &SoftmaxCrossEntropy, &mut sgd, &xb, &[0])
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::LengthMismatch {
                    expected: 2,
                    found: 1,
                    ..
                }
            ),
            "{err}"
        );
    }
    let mut n = Linear::<2, 1>::zeros();
    let err =
        constnet::train::train_sample(&mut n, &LogisticLoss, &mut Sgd::new(0.1).unwrap(), &x, &2.0)
            .unwrap_err();
    assert!(matches!(err, Error::InvalidTarget { .. }));
}

/// Regression: `ConfusionMatrix::<2>::new().count(10, 0)` panicked, and a dataset of
/// zero features divided by zero.
#[test]
fn out_of_range_counts_and_featureless_datasets_do_not_panic() {
    assert_eq!(constnet::train::ConfusionMatrix::<2>::new().count(10, 0), 0);
    let err = Dataset::<f32, 0, usize>::from_rows(&[], vec![0, 1]).unwrap_err();
    assert!(err.to_string().contains("features per sample"), "{err}");
    let err = Dataset::<f32, 0, usize>::new(constnet::Batch::zeros(3), vec![0; 3]).unwrap_err();
    assert!(matches!(err, Error::LengthMismatch { .. }));
}

#[test]
fn an_empty_validation_or_evaluation_set_is_named() {
    let empty = Dataset::<f32, 2, usize>::from_rows(&[], vec![]).unwrap();
    let err = Trainer::new(SoftmaxCrossEntropy, Sgd::new(0.1).unwrap())
        .fit(&mut net(), &xor(), Some(&empty), &mut ())
        .unwrap_err();
    assert_eq!(err.to_string(), "the validation set has no samples");
    let err = evaluate(&net(), &SoftmaxCrossEntropy, &empty).unwrap_err();
    assert!(err.to_string().contains("evaluate"), "{err}");
}

/// `fn main() -> Result<(), constnet::Error>` prints the error's `Debug` form: it is the
/// readable message, not the variant's fields; and gradient checks return the same `Error`.
#[test]
fn debug_of_an_error_is_its_message() {
    let err = Sgd::<f32>::new(-1.0).unwrap_err();
    assert_eq!(format!("{err:?}"), err.to_string());
    assert!(format!("{err:?}").contains("learning rate"), "{err:?}");
    let weights = constnet::io::load_safetensors(&mut net(), "/nonexistent/w.safetensors");
    let err = weights.unwrap_err();
    assert_eq!(format!("{err:?}"), err.to_string());
    let err: Result<(), constnet::Error> = constnet::train::gradcheck::check_loss(
        &constnet::nn::Mse,
        &constnet::nalgebra::SVector::from([f64::NAN]),
        &constnet::nalgebra::SVector::from([0.0]),
    );
    assert!(matches!(err, Err(constnet::Error::Gradient(_))));
}

/// A path is wrapped once: the file is named by `Error::WithPath`, once in the message,
/// whatever went wrong with it.
#[test]
fn a_path_is_named_once() {
    let dir = std::env::temp_dir().join(format!("constnet-with-path-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("missing.safetensors");
    let err = constnet::io::load_safetensors(&mut net(), &missing).unwrap_err();
    assert_eq!(err.path(), Some(missing.as_path()));
    assert!(matches!(err.kind(), constnet::Error::Io { .. }), "{err}");
    let text = err.to_string();
    assert_eq!(text.matches("missing.safetensors").count(), 1, "{text}");

    let junk = dir.join("junk.safetensors");
    std::fs::write(&junk, b"not safetensors").unwrap();
    let err = constnet::io::load_safetensors(&mut net(), &junk).unwrap_err();
    assert_eq!(err.path(), Some(junk.as_path()));
    assert!(
        matches!(err.kind(), constnet::Error::Weights { .. }),
        "{err}"
    );
    assert_eq!(
        err.to_string().matches("junk.safetensors").count(),
        1,
        "{err}"
    );
    // Wrapping again keeps the first file.
    let again = err.at("elsewhere");
    assert_eq!(again.path(), Some(junk.as_path()));
}

/// Regression (issue 20, item 16): a learning rate of 1e-300 was printed with three hundred
/// digits. Tiny and huge numbers are printed in scientific notation.
#[test]
fn messages_keep_numbers_short() {
    let err = Sgd::<f32>::new(1e-300).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("1e-300"), "{text}");
    assert!(text.len() < 100, "{text}");
    let err = Sgd::<f32>::new(0.5).unwrap().momentum(2.5).unwrap_err();
    assert!(err.to_string().contains("momentum 2.5"), "{err}");
}

/// Regression (issue 20, item 15): every missing, unexpected or wrong-shape tensor said "the
/// file was saved from a network of another shape", also for extras. Each message now says
/// what is wrong and what to call instead.
#[test]
fn weights_errors_say_what_is_wrong_and_what_to_call() {
    use constnet::data::StandardScaler;
    let dir = std::env::temp_dir().join(format!("constnet-messages-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let with_scaler = dir.join("with-scaler.safetensors");
    let scaler = StandardScaler::<f32, 2>::identity();
    constnet::io::save_safetensors_with(&net(), &[("scaler", &scaler)], &with_scaler).unwrap();
    let plain = dir.join("plain.safetensors");
    constnet::io::save_safetensors(&net(), &plain).unwrap();

    let text = constnet::io::load_safetensors(&mut net(), &with_scaler)
        .unwrap_err()
        .to_string();
    assert!(text.contains("also holds `scaler`"), "{text}");
    assert!(text.contains("load_safetensors_with"), "{text}");
    assert!(!text.contains("another shape"), "{text}");

    let mut wanted = StandardScaler::<f32, 2>::identity();
    let text = constnet::io::load_safetensors_with(
        &mut net(),
        &mut [("target_scaler", &mut wanted)],
        &plain,
    )
    .unwrap_err()
    .to_string();
    assert!(text.contains("holds no `target_scaler`"), "{text}");
    assert!(!text.contains("another shape"), "{text}");

    let text = constnet::io::load_safetensors(&mut Linear::<2, 3>::zeros(), &plain)
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("other sizes") || text.contains("other layers"),
        "{text}"
    );
}
