//! Every invalid argument or input gives a typed error that names the problem.

use constnet::datasets::xor;
use constnet::nalgebra::SVector;
use constnet::rand::SeedableRng;
use constnet::{
    Adam, Dataset, Error, Init, Linear, LogisticLoss, Mse, Sgd, SoftmaxCrossEntropy, Tanh, Trainer,
    evaluate, seq,
};

fn net() -> impl constnet::Layer<f32, 2, 2> {
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
