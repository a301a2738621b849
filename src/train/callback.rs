//! Callbacks: code that runs after every minibatch and epoch of [`Trainer::fit`], sees the
//! network's parameters and can stop training. Built in: [`EarlyStopping`] and
//! [`Checkpoint`].
//!
//! [`Trainer::fit`]: crate::Trainer::fit

use std::ops::ControlFlow;
#[cfg(feature = "safetensors")]
use std::path::PathBuf;

use crate::train::report::{BatchProgress, EpochReport, Metric, Observer};
use crate::{Error, Layer, Param, ParamMut, Scalar};

/// The network being trained, as a callback sees it: its parameters, to read, copy back or
/// save.
pub trait Network<T: Scalar> {
    /// Calls `f` with every parameter tensor, in order.
    fn params(&self, f: &mut dyn FnMut(Param<'_, T>));
    /// Calls `f` with every parameter tensor and its gradient, in order.
    fn params_mut(&mut self, f: &mut dyn FnMut(ParamMut<'_, T>));
    /// The parameters as safetensors bytes (see [`io::to_safetensors`](crate::io::to_safetensors)).
    ///
    /// # Errors
    /// As [`io::to_safetensors`](crate::io::to_safetensors).
    #[cfg(feature = "safetensors")]
    fn to_safetensors(&self) -> Result<Vec<u8>, Error>;
}

/// A typed network seen as a [`Network`].
pub(crate) struct Trained<'a, N, const I: usize, const O: usize>(pub(crate) &'a mut N);

impl<T: Scalar, N: Layer<T, I, O>, const I: usize, const O: usize> Network<T>
    for Trained<'_, N, I, O>
{
    fn params(&self, f: &mut dyn FnMut(Param<'_, T>)) {
        self.0.visit_params(&crate::Path::ROOT, &mut |p| f(p));
    }
    fn params_mut(&mut self, f: &mut dyn FnMut(ParamMut<'_, T>)) {
        self.0.visit_params_mut(&crate::Path::ROOT, &mut |p| f(p));
    }
    #[cfg(feature = "safetensors")]
    fn to_safetensors(&self) -> Result<Vec<u8>, Error> {
        crate::io::to_safetensors(&*self.0)
    }
}

/// Runs during [`Trainer::fit`](crate::Trainer::fit). Every method has a default that does
/// nothing; every [`Observer`] (such as `()` and [`PrintEpochs`](crate::PrintEpochs)) is a
/// callback, and a pair `(A, B)` of callbacks runs both.
pub trait Callback<T: Scalar> {
    /// After every minibatch.
    fn on_batch(&mut self, progress: &BatchProgress) {
        let _ = progress;
    }

    /// After every epoch and its evaluation. Return `ControlFlow::Break(())` to stop
    /// training after this epoch.
    ///
    /// # Errors
    /// An error stops training and is returned by `fit` (e.g. a checkpoint that cannot be
    /// written).
    fn on_epoch(
        &mut self,
        net: &mut dyn Network<T>,
        report: &EpochReport,
    ) -> Result<ControlFlow<()>, Error> {
        let _ = (net, report);
        Ok(ControlFlow::Continue(()))
    }

    /// Once when training ends, stopped or not (not after an error), before `fit` returns.
    ///
    /// # Errors
    /// Returned by `fit`.
    fn on_end(&mut self, net: &mut dyn Network<T>) -> Result<(), Error> {
        let _ = net;
        Ok(())
    }
}

impl<T: Scalar, O: Observer> Callback<T> for O {
    fn on_batch(&mut self, progress: &BatchProgress) {
        Observer::on_batch(self, progress);
    }
    fn on_epoch(
        &mut self,
        _: &mut dyn Network<T>,
        report: &EpochReport,
    ) -> Result<ControlFlow<()>, Error> {
        Observer::on_epoch(self, report);
        Ok(ControlFlow::Continue(()))
    }
}

impl<T: Scalar, A: Callback<T>, B: Callback<T>> Callback<T> for (A, B) {
    fn on_batch(&mut self, progress: &BatchProgress) {
        self.0.on_batch(progress);
        self.1.on_batch(progress);
    }
    /// Both run; training stops if either says so.
    fn on_epoch(
        &mut self,
        net: &mut dyn Network<T>,
        report: &EpochReport,
    ) -> Result<ControlFlow<()>, Error> {
        let a = self.0.on_epoch(net, report)?;
        let b = self.1.on_epoch(net, report)?;
        Ok(if a.is_break() || b.is_break() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        })
    }
    fn on_end(&mut self, net: &mut dyn Network<T>) -> Result<(), Error> {
        self.0.on_end(net)?;
        self.1.on_end(net)
    }
}

/// Tracks the best value of a metric: what counts as an improvement.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Best {
    metric: Metric,
    min_delta: f64,
    value: Option<f64>,
    epoch: usize,
}

impl Best {
    fn new(metric: Metric) -> Self {
        Best {
            metric,
            min_delta: 0.0,
            value: None,
            epoch: 0,
        }
    }

    /// Whether the report improves on the best by more than `min_delta`; records it if so.
    ///
    /// # Errors
    /// [`Error::MissingMetric`] if the report lacks the metric (no validation set given).
    fn improves(&mut self, report: &EpochReport) -> Result<bool, Error> {
        let value = self.metric.of(report).ok_or(Error::MissingMetric {
            metric: self.metric.name(),
        })?;
        let better = match self.value {
            None => true,
            Some(best) if self.metric.higher_is_better() => value > best + self.min_delta,
            Some(best) => value < best - self.min_delta,
        };
        if better {
            self.value = Some(value);
            self.epoch = report.epoch;
        }
        Ok(better)
    }
}

/// Stops training when a metric has not improved for `patience` epochs, and (by default)
/// puts back the weights of the best epoch when training ends (Keras's `EarlyStopping` with
/// `restore_best_weights=True`).
///
/// # Example
/// ```
/// use constnet::{datasets, Adam, Build, EarlyStopping, Linear, Metric, Net, Relu,
///                SoftmaxCrossEntropy, Trainer};
/// use rand::SeedableRng;
///
/// let data = datasets::two_moons::<f32>(400, 0.2, 0);
/// let (train, validation) = data.split_at(300);
/// let mut net = <Net![Linear<2, 32>, Relu, Linear<32, 2>]>::init(&mut rand::rngs::StdRng::seed_from_u64(0));
/// let mut stop = EarlyStopping::new(Metric::ValidationLoss, 5);
/// let history = Trainer::new(SoftmaxCrossEntropy, Adam::new(0.05)?)
///     .epochs(500)
///     .fit(&mut net, &train, Some(&validation), &mut stop)?;
/// assert!(history.len() < 500, "stopped early");
/// assert_eq!(stop.stopped_after(), Some(history.len()));
/// assert!(stop.best_epoch().unwrap() <= history.len() - 5);
/// # Ok::<(), constnet::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct EarlyStopping<T: Scalar = f32> {
    best: Best,
    patience: usize,
    restore: bool,
    waited: usize,
    stopped: Option<usize>,
    snapshot: Vec<T>,
}

impl<T: Scalar> EarlyStopping<T> {
    /// Stops after `patience` epochs without improvement of `metric`.
    pub fn new(metric: Metric, patience: usize) -> Self {
        EarlyStopping {
            best: Best::new(metric),
            patience,
            restore: true,
            waited: 0,
            stopped: None,
            snapshot: Vec::new(),
        }
    }

    /// The smallest change that counts as an improvement (default 0).
    pub fn min_delta(mut self, delta: f64) -> Self {
        self.best.min_delta = delta.abs();
        self
    }

    /// Whether to put back the best epoch's weights at the end (default `true`).
    pub fn restore_best(mut self, restore: bool) -> Self {
        self.restore = restore;
        self
    }

    /// The epoch with the best value so far.
    pub fn best_epoch(&self) -> Option<usize> {
        (self.best.epoch > 0).then_some(self.best.epoch)
    }

    /// The best value so far.
    pub fn best_value(&self) -> Option<f64> {
        self.best.value
    }

    /// The epoch after which it stopped training, if it did.
    pub fn stopped_after(&self) -> Option<usize> {
        self.stopped
    }
}

fn copy_params<T: Scalar>(net: &dyn Network<T>, into: &mut Vec<T>) {
    into.clear();
    net.params(&mut |p| into.extend_from_slice(p.value));
}

impl<T: Scalar> Callback<T> for EarlyStopping<T> {
    fn on_epoch(
        &mut self,
        net: &mut dyn Network<T>,
        report: &EpochReport,
    ) -> Result<ControlFlow<()>, Error> {
        if self.best.improves(report)? {
            self.waited = 0;
            if self.restore {
                copy_params(net, &mut self.snapshot);
            }
            return Ok(ControlFlow::Continue(()));
        }
        self.waited += 1;
        if self.waited >= self.patience {
            self.stopped = Some(report.epoch);
            return Ok(ControlFlow::Break(()));
        }
        Ok(ControlFlow::Continue(()))
    }

    fn on_end(&mut self, net: &mut dyn Network<T>) -> Result<(), Error> {
        if self.restore && !self.snapshot.is_empty() {
            let mut at = 0;
            net.params_mut(&mut |p| {
                let n = p.value.len();
                p.value.copy_from_slice(&self.snapshot[at..at + n]);
                at += n;
            });
        }
        Ok(())
    }
}

/// Saves the network to a safetensors file, atomically, after every epoch that improves a
/// metric: the file always holds the best model so far, even if training is interrupted.
#[cfg(feature = "safetensors")]
#[derive(Debug, Clone)]
pub struct Checkpoint {
    path: PathBuf,
    best: Best,
    saves: usize,
}

#[cfg(feature = "safetensors")]
impl Checkpoint {
    /// Saves to `path` whenever `metric` improves.
    pub fn new(path: impl Into<PathBuf>, metric: Metric) -> Self {
        Checkpoint {
            path: path.into(),
            best: Best::new(metric),
            saves: 0,
        }
    }

    /// The epoch whose weights the file holds.
    pub fn best_epoch(&self) -> Option<usize> {
        (self.best.epoch > 0).then_some(self.best.epoch)
    }

    /// How many times it wrote the file.
    pub fn saves(&self) -> usize {
        self.saves
    }
}

#[cfg(feature = "safetensors")]
impl<T: Scalar> Callback<T> for Checkpoint {
    fn on_epoch(
        &mut self,
        net: &mut dyn Network<T>,
        report: &EpochReport,
    ) -> Result<ControlFlow<()>, Error> {
        if self.best.improves(report)? {
            let bytes = net.to_safetensors()?;
            crate::write_atomic(&self.path, &bytes)?;
            self.saves += 1;
        }
        Ok(ControlFlow::Continue(()))
    }
}
