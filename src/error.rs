//! The one error type of the library.

use std::fmt;

/// Everything that can go wrong when outside data or arguments meet a network.
///
/// Inside a network nothing can fail: sizes are checked by the compiler. Errors only come
/// from the boundaries (datasets, files, hyperparameters) and from a training run that
/// diverges. Each variant carries the offending value and where it was found.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A minibatch size of zero.
    InvalidBatchSize {
        /// The size that was asked for.
        batch_size: usize,
    },
    /// A learning rate that is not a finite number greater than zero.
    InvalidLearningRate {
        /// The rate that was given.
        value: f64,
    },
    /// Another hyperparameter outside its valid range.
    InvalidHyperparameter {
        /// Its name, e.g. `"momentum"`.
        name: &'static str,
        /// The value that was given.
        value: f64,
        /// The range it must lie in, in words.
        expected: &'static str,
    },
    /// A class label that is not smaller than the number of outputs.
    LabelOutOfRange {
        /// Index of the sample in its dataset.
        index: usize,
        /// The label found.
        label: usize,
        /// The number of classes (the network's output size).
        classes: usize,
    },
    /// A target value that the loss cannot take (e.g. a logistic target outside [0, 1]).
    InvalidTarget {
        /// Index of the sample in its dataset.
        index: usize,
        /// The target value found (its first offending component).
        value: f64,
        /// What the loss expects, in words.
        expected: &'static str,
    },
    /// A NaN or infinite value in input data.
    NonFinite {
        /// What held it, e.g. `"features"`.
        what: &'static str,
        /// Index of the sample.
        index: usize,
        /// Index of the component within the sample.
        component: usize,
    },
    /// Two lengths that must agree do not.
    LengthMismatch {
        /// What was being measured, e.g. `"targets"`.
        what: &'static str,
        /// The length required.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// A dataset with no samples where at least one is needed.
    EmptyDataset {
        /// Which dataset, e.g. `"training set"`.
        what: &'static str,
    },
    /// The training loss became NaN or infinite.
    Diverged {
        /// Epoch, counted from 1.
        epoch: usize,
        /// Minibatch within the epoch, counted from 1.
        batch: usize,
        /// The loss value found.
        loss: f64,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidBatchSize { batch_size } => {
                write!(f, "invalid batch size {batch_size}: it must be at least 1")
            }
            Error::InvalidLearningRate { value } => write!(
                f,
                "invalid learning rate {value}: it must be a finite number greater than 0"
            ),
            Error::InvalidHyperparameter {
                name,
                value,
                expected,
            } => write!(f, "invalid {name} {value}: it must be {expected}"),
            Error::LabelOutOfRange {
                index,
                label,
                classes,
            } => write!(
                f,
                "sample {index} has class label {label}, but the network has {classes} outputs \
                 (labels must be 0 to {})",
                classes.saturating_sub(1)
            ),
            Error::InvalidTarget {
                index,
                value,
                expected,
            } => write!(
                f,
                "sample {index} has target {value}, but this loss expects {expected}"
            ),
            Error::NonFinite {
                what,
                index,
                component,
            } => write!(
                f,
                "{what} of sample {index} hold a non-finite value (NaN or infinity) at component {component}"
            ),
            Error::LengthMismatch {
                what,
                expected,
                found,
            } => write!(f, "expected {expected} {what}, found {found}"),
            Error::EmptyDataset { what } => write!(f, "the {what} has no samples"),
            Error::Diverged { epoch, batch, loss } => write!(
                f,
                "training diverged: the loss became {loss} in epoch {epoch}, batch {batch} \
                 (try a smaller learning rate)"
            ),
        }
    }
}

impl std::error::Error for Error {}
