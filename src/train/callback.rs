//! Callbacks: code that runs after every minibatch and epoch of [`Trainer::fit`], sees the
//! network's parameters and can stop training. Built in: [`EarlyStopping`] and
//! [`Checkpoint`].
//!
//! [`Trainer::fit`]: crate::train::trainer::Trainer::fit

use std::ops::ControlFlow;
#[cfg(feature = "safetensors")]
use std::path::PathBuf;

#[cfg(feature = "safetensors")]
use crate::io::Record;
use crate::train::report::{BatchProgress, EpochReport, Metric};
use crate::{
    base::scalar::Scalar, error::Error, nn::layer::Layer, nn::model::Model, nn::param::Param,
    nn::param::ParamMut, nn::param::Path,
};

/// A network's parameters, seen through an object: what a [`Callback`] gets of the network
/// it watches, and what a boxed [`Model`](crate::nn::model::Model) offers too, so that code which reads,
/// copies back or saves parameters serves both.
pub trait Params<T: Scalar> {
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

/// A typed network seen as [`Params`].
pub(crate) struct Trained<'a, N, const I: usize, const O: usize>(pub(crate) &'a mut N);

impl<T: Scalar, N: Layer<T, I, O>, const I: usize, const O: usize> Params<T>
    for Trained<'_, N, I, O>
{
    fn params(&self, f: &mut dyn FnMut(Param<'_, T>)) {
        self.0.visit_params(&Path::ROOT, &mut |p| f(p));
    }
    fn params_mut(&mut self, f: &mut dyn FnMut(ParamMut<'_, T>)) {
        self.0.visit_params_mut(&Path::ROOT, &mut |p| f(p));
    }
    #[cfg(feature = "safetensors")]
    fn to_safetensors(&self) -> Result<Vec<u8>, Error> {
        crate::io::to_safetensors(&*self.0)
    }
}

/// A boxed network is a parameter view as it is.
impl<T: Scalar, const I: usize, const O: usize> Params<T> for Box<dyn Model<T, I, O> + '_> {
    fn params(&self, f: &mut dyn FnMut(Param<'_, T>)) {
        self.visit_params(&Path::ROOT, &mut |p| f(p));
    }
    fn params_mut(&mut self, f: &mut dyn FnMut(ParamMut<'_, T>)) {
        self.visit_params_mut(&Path::ROOT, &mut |p| f(p));
    }
    #[cfg(feature = "safetensors")]
    fn to_safetensors(&self) -> Result<Vec<u8>, Error> {
        crate::io::to_safetensors(self)
    }
}

/// Runs during [`Trainer::fit`](crate::train::trainer::Trainer::fit): sees every minibatch and epoch, the
/// network's parameters, and can stop training. Every method has a default that does
/// nothing. `()` is the callback that does nothing, `&mut C` is a callback when `C` is (so
/// the caller keeps it and reads it afterwards), and a tuple of callbacks runs each in turn.
///
/// A callback that keeps state across epochs ([`EarlyStopping`]) saves it into a training
/// checkpoint ([`Callback::save_state`]) and reads it back when the run resumes
/// ([`Callback::load_state`]), so that a resumed run goes on exactly.
///
/// # Example
/// ```
/// use constnet::{Scalar, train::{Callback, EarlyStopping, EpochReport, Metric, Params, PrintEpochs}};
/// use std::ops::ControlFlow;
///
/// /// Counts the epochs.
/// struct Count(usize);
/// impl<T: Scalar> Callback<T> for Count {
///     fn on_epoch(&mut self, _: &mut dyn Params<T>, _: &EpochReport) -> Result<ControlFlow<()>, constnet::Error> {
///         self.0 += 1;
///         Ok(ControlFlow::Continue(()))
///     }
/// }
/// let mut stop = EarlyStopping::<f32>::new(Metric::ValidationLoss, 3);
/// let mut count = Count(0);
/// // All of these are callbacks of f32 networks:
/// fn takes(_: &mut impl Callback<f32>) {}
/// takes(&mut ());
/// takes(&mut (&mut stop, PrintEpochs));
/// takes(&mut (&mut stop, &mut count, PrintEpochs));
/// ```
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
        net: &mut dyn Params<T>,
        report: &EpochReport,
    ) -> Result<ControlFlow<()>, Error> {
        let _ = (net, report);
        Ok(ControlFlow::Continue(()))
    }

    /// Once when training ends, stopped or not (not after an error), before `fit` returns.
    ///
    /// # Errors
    /// Returned by `fit`.
    fn on_end(&mut self, net: &mut dyn Params<T>) -> Result<(), Error> {
        let _ = net;
        Ok(())
    }

    /// Writes what it keeps across epochs into a training checkpoint, under names that
    /// start with `prefix` (nothing by default: a callback without such state).
    #[cfg(feature = "safetensors")]
    fn save_state(&self, record: &mut Record<T>, prefix: &str) {
        let _ = (record, prefix);
    }

    /// Reads back what [`Callback::save_state`] wrote.
    ///
    /// # Errors
    /// [`Error::Checkpoint`] if the record lacks it (it was written by other callbacks).
    #[cfg(feature = "safetensors")]
    fn load_state(&mut self, record: &Record<T>, prefix: &str) -> Result<(), Error> {
        let _ = (record, prefix);
        Ok(())
    }
}

impl<T: Scalar> Callback<T> for () {}

/// A callback that prints one line per epoch to standard output.
#[derive(Debug, Clone, Copy, Default)]
pub struct PrintEpochs;

impl<T: Scalar> Callback<T> for PrintEpochs {
    fn on_epoch(
        &mut self,
        _: &mut dyn Params<T>,
        report: &EpochReport,
    ) -> Result<ControlFlow<()>, Error> {
        println!("{report}");
        Ok(ControlFlow::Continue(()))
    }
}

impl<T: Scalar, C: Callback<T> + ?Sized> Callback<T> for &mut C {
    fn on_batch(&mut self, progress: &BatchProgress) {
        (**self).on_batch(progress);
    }
    fn on_epoch(
        &mut self,
        net: &mut dyn Params<T>,
        report: &EpochReport,
    ) -> Result<ControlFlow<()>, Error> {
        (**self).on_epoch(net, report)
    }
    fn on_end(&mut self, net: &mut dyn Params<T>) -> Result<(), Error> {
        (**self).on_end(net)
    }
    #[cfg(feature = "safetensors")]
    fn save_state(&self, record: &mut Record<T>, prefix: &str) {
        (**self).save_state(record, prefix);
    }
    #[cfg(feature = "safetensors")]
    fn load_state(&mut self, record: &Record<T>, prefix: &str) -> Result<(), Error> {
        (**self).load_state(record, prefix)
    }
}

/// Tuples of callbacks: each runs in turn; training stops if any says so; the state of the
/// `k`-th is saved under `prefix.k`.
macro_rules! tuple_callback {
    ($($c:ident $i:tt),+) => {
        impl<T: Scalar, $($c: Callback<T>),+> Callback<T> for ($($c,)+) {
            fn on_batch(&mut self, progress: &BatchProgress) {
                $(self.$i.on_batch(progress);)+
            }
            fn on_epoch(
                &mut self,
                net: &mut dyn Params<T>,
                report: &EpochReport,
            ) -> Result<ControlFlow<()>, Error> {
                let mut flow = ControlFlow::Continue(());
                $(if self.$i.on_epoch(net, report)?.is_break() {
                    flow = ControlFlow::Break(());
                })+
                Ok(flow)
            }
            fn on_end(&mut self, net: &mut dyn Params<T>) -> Result<(), Error> {
                $(self.$i.on_end(net)?;)+
                Ok(())
            }
            #[cfg(feature = "safetensors")]
            fn save_state(&self, record: &mut Record<T>, prefix: &str) {
                $(self.$i.save_state(record, &format!("{prefix}.{}", $i));)+
            }
            #[cfg(feature = "safetensors")]
            fn load_state(&mut self, record: &Record<T>, prefix: &str) -> Result<(), Error> {
                $(self.$i.load_state(record, &format!("{prefix}.{}", $i))?;)+
                Ok(())
            }
        }
    };
}

tuple_callback!(A 0, B 1);
tuple_callback!(A 0, B 1, C 2);
tuple_callback!(A 0, B 1, C 2, D 3);

/// Keeps an [`Extra`](crate::io::Extra) (a scaler, say) in training checkpoints: a
/// callback that does nothing during training, saves the extra's tensors under its name
/// and puts them back when the run resumes.
///
/// # Example
/// ```
/// use constnet::{data::{StandardScaler, datasets}, train::{EarlyStopping, Keep, Metric}};
/// let data = datasets::two_moons::<f32>(100, 0.1, 0);
/// let mut scaler = StandardScaler::fit(&data);
/// let mut stop = EarlyStopping::<f32>::new(Metric::ValidationLoss, 5);
/// // Pass these callbacks to `fit`, `save_checkpoint` and `resume`:
/// let callbacks = (&mut stop, Keep("scaler", &mut scaler));
/// # let _ = callbacks;
/// # Ok::<(), constnet::Error>(())
/// ```
#[cfg(feature = "safetensors")]
#[derive(Debug)]
pub struct Keep<'a, E>(pub &'a str, pub &'a mut E);

#[cfg(feature = "safetensors")]
impl<T: Scalar, E: crate::io::Extra<T>> Callback<T> for Keep<'_, E> {
    fn save_state(&self, record: &mut Record<T>, prefix: &str) {
        for (name, values) in self.1.tensors() {
            let name = format!("{prefix}.{}.{name}", self.0);
            record.put_tensor(name, vec![values.len()], values.to_vec());
        }
    }

    fn load_state(&mut self, record: &Record<T>, prefix: &str) -> Result<(), Error> {
        let values = self
            .1
            .tensors()
            .iter()
            .map(|(name, values)| {
                let name = format!("{prefix}.{}.{name}", self.0);
                record.tensor(&name, &[values.len()]).map(<[T]>::to_vec)
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.1.set_tensors(&values)
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

    /// Writes the best value and its epoch under `prefix`.
    #[cfg(feature = "safetensors")]
    fn save(&self, record: &mut Record<impl Copy>, prefix: &str) {
        record.put(format!("{prefix}.metric"), self.metric.name());
        record.put(format!("{prefix}.best_epoch"), self.epoch);
        if let Some(value) = self.value {
            record.put(format!("{prefix}.best_value"), value);
        }
    }

    /// Reads back what [`Best::save`] wrote.
    #[cfg(feature = "safetensors")]
    fn load(&mut self, record: &Record<impl Copy>, prefix: &str) -> Result<(), Error> {
        let metric: String = record.get(&format!("{prefix}.metric"))?;
        if metric != self.metric.name() {
            return Err(Error::Checkpoint {
                problem: format!(
                    "`{prefix}` watched the {metric}, this callback the {}",
                    self.metric.name()
                ),
            });
        }
        self.epoch = record.get(&format!("{prefix}.best_epoch"))?;
        self.value = record.get_opt(&format!("{prefix}.best_value"))?;
        Ok(())
    }
}

/// Stops training when a metric has not improved for `patience` epochs, and (by default)
/// puts back the weights of the best epoch when training ends (Keras's `EarlyStopping` with
/// `restore_best_weights=True`).
///
/// # Example
/// ```
/// use constnet::{Net, data::datasets, nn::{Build, Linear, Relu, SoftmaxCrossEntropy}, optim::Adam, train::{EarlyStopping, Metric, Trainer}};
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

fn copy_params<T: Scalar>(net: &dyn Params<T>, into: &mut Vec<T>) {
    into.clear();
    net.params(&mut |p| into.extend_from_slice(p.value));
}

impl<T: Scalar> Callback<T> for EarlyStopping<T> {
    fn on_epoch(
        &mut self,
        net: &mut dyn Params<T>,
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

    /// The best value and epoch, the epochs waited, and the best epoch's weights.
    #[cfg(feature = "safetensors")]
    fn save_state(&self, record: &mut Record<T>, prefix: &str) {
        self.best.save(record, prefix);
        record.put(format!("{prefix}.waited"), self.waited);
        if let Some(stopped) = self.stopped {
            record.put(format!("{prefix}.stopped"), stopped);
        }
        if !self.snapshot.is_empty() {
            let snapshot = self.snapshot.clone();
            record.put_tensor(format!("{prefix}.snapshot"), vec![snapshot.len()], snapshot);
        }
    }

    #[cfg(feature = "safetensors")]
    fn load_state(&mut self, record: &Record<T>, prefix: &str) -> Result<(), Error> {
        self.best.load(record, prefix)?;
        self.waited = record.get(&format!("{prefix}.waited"))?;
        self.stopped = record.get_opt(&format!("{prefix}.stopped"))?;
        self.snapshot = record
            .vector(&format!("{prefix}.snapshot"))?
            .map_or_else(Vec::new, <[T]>::to_vec);
        Ok(())
    }

    fn on_end(&mut self, net: &mut dyn Params<T>) -> Result<(), Error> {
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
    pub fn new(path: impl AsRef<std::path::Path>, metric: Metric) -> Self {
        Checkpoint {
            path: path.as_ref().to_path_buf(),
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
        net: &mut dyn Params<T>,
        report: &EpochReport,
    ) -> Result<ControlFlow<()>, Error> {
        if self.best.improves(report)? {
            let bytes = net.to_safetensors()?;
            crate::io::fs::write_atomic(&self.path, &bytes)?;
            self.saves += 1;
        }
        Ok(ControlFlow::Continue(()))
    }

    /// The best value and epoch, and the number of saves.
    fn save_state(&self, record: &mut Record<T>, prefix: &str) {
        self.best.save(record, prefix);
        record.put(format!("{prefix}.saves"), self.saves);
    }

    fn load_state(&mut self, record: &Record<T>, prefix: &str) -> Result<(), Error> {
        self.best.load(record, prefix)?;
        self.saves = record.get(&format!("{prefix}.saves"))?;
        Ok(())
    }
}
