//! The epoch loop: [`Trainer`], with shuffling, schedules, callbacks and progress reports.

use std::time::Instant;

use rand::SeedableRng;
use rand::seq::SliceRandom;

use crate::nn::layer::check_finite_params;
use crate::optim::Reset;
use crate::train::callback::{Callback, Trained};
use crate::train::clip::Clip;
use crate::train::report::{BatchProgress, EpochReport, GradNorms};
use crate::train::schedule::{Plateau, Schedule};
use crate::train::step::{Workspace, check_targets, evaluate_checked, max_abs_weights};
use crate::{
    base::linalg::Batch, base::scalar::Scalar, data::Dataset, error::Error, nn::layer::Layer,
    nn::loss::Loss, nn::loss::TargetsOf, optim::Optimizer,
};

/// The order in which an epoch visits the training samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// A new random permutation every epoch, from one generator seeded with `seed` when
    /// training starts: the stream goes on across calls to `fit` (and through a checkpoint),
    /// so the epochs of a run see the same permutations however they are split into calls.
    Shuffled {
        /// The seed; the same seed gives the same sequence of minibatches.
        seed: u64,
    },
    /// The dataset's own order, every epoch.
    InOrder,
}

/// Minibatch training with a loss and an optimizer: the epoch loop.
///
/// Defaults: 10 epochs, batch size 32, shuffled with seed 0, a constant learning rate.
///
/// # Example
/// ```
/// use constnet::{seq, data::Dataset, nn::{Init, Layer, Linear, SoftmaxCrossEntropy, Tanh}, optim::Adam, train::Trainer};
/// use rand::SeedableRng;
///
/// let xor = Dataset::<f32, 2, usize>::from_rows(
///     &[0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0],
///     vec![0, 1, 1, 0],
/// )?;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(3);
/// let mut net = seq![
///     Linear::<2, 8>::new(Init::XavierUniform, &mut rng),
///     Tanh,
///     Linear::<8, 2>::new(Init::XavierUniform, &mut rng),
/// ];
/// let mut trainer = Trainer::new(SoftmaxCrossEntropy, Adam::new(0.05)?).epochs(300).batch_size(4);
/// let history = trainer.fit(&mut net, &xor, None, &mut ())?;
/// assert_eq!(history.last().unwrap().train_accuracy, Some(1.0));
/// # Ok::<(), constnet::Error>(())
/// ```
///
/// # What a trainer keeps between calls
/// A trainer owns its optimizer, and with it the optimizer's state (momentum, Adam's
/// moments), and it counts the epochs done. Both belong to the network it trained: a second
/// `fit` on the same network goes on where the first stopped, and a `fit` on another network
/// (or on one whose weights were changed since) is refused with
/// [`Error::OtherNetwork`] rather than mixing the two networks' moments.
/// [`Trainer::restart`] forgets both, to start afresh on any network.
#[derive(Clone)]
pub struct Trainer<L, Opt> {
    loss: L,
    optimizer: Opt,
    epochs: usize,
    batch_size: usize,
    order: Order,
    schedule: Schedule,
    evaluate_train: bool,
    clip: Option<Clip>,
    progress: Progress,
    shuffle: Kept,
    #[cfg(feature = "safetensors")]
    checkpoint: Option<std::path::PathBuf>,
}

/// Where a shuffled order stands between calls to `fit`: the generator and the permutation
/// after `epochs` epochs of `len` samples shuffled from `seed`. Kept so that a call does not
/// replay the permutations of every earlier epoch (which made going on one epoch at a time
/// quadratic in the epochs); rebuilt by replaying when it does not match.
struct Shuffle {
    seed: u64,
    len: usize,
    epochs: usize,
    rng: rand::rngs::StdRng,
    order: Vec<usize>,
}

/// The kept [`Shuffle`], if any. A cloned trainer keeps none (the generator cannot be
/// cloned) and replays the stream on its first `fit`, to the same permutations.
#[derive(Default)]
struct Kept(Option<Shuffle>);

impl Clone for Kept {
    fn clone(&self) -> Self {
        Kept(None)
    }
}

/// What goes on from one call to [`Trainer::fit`] to the next. The shuffle stream is not
/// stored: a call replays the permutations of the epochs done (cheap next to an epoch).
#[derive(Debug, Clone, Copy, Default)]
struct Progress {
    /// Epochs completed by earlier calls.
    epochs_done: usize,
    /// The learning rate at the first call: the schedule's base rate.
    initial_lr: Option<f64>,
    /// The state of a reduce-on-plateau schedule.
    plateau: Option<Plateau>,
    /// A hash of the parameters (shapes and values) when the last call returned: the
    /// network the optimizer's state belongs to.
    fingerprint: Option<u64>,
}

#[cfg(feature = "safetensors")]
impl Progress {
    /// Writes the progress under `trainer.`.
    fn save<T: Copy>(&self, record: &mut crate::io::Record<T>) {
        record.put("trainer.epochs_done", self.epochs_done);
        if let Some(lr) = self.initial_lr {
            record.put("trainer.initial_lr", lr);
        }
        if let Some(plateau) = self.plateau {
            record.put("trainer.plateau.lr", plateau.lr);
            record.put("trainer.plateau.bad_epochs", plateau.bad_epochs);
            if let Some(best) = plateau.best {
                record.put("trainer.plateau.best", best);
            }
        }
    }

    /// Reads back what [`Progress::save`] wrote (without a fingerprint).
    fn load<T: Copy>(record: &crate::io::Record<T>) -> Result<Progress, Error> {
        let plateau = match record.get_opt::<f64>("trainer.plateau.lr")? {
            Some(lr) => Some(Plateau {
                lr,
                bad_epochs: record.get("trainer.plateau.bad_epochs")?,
                best: record.get_opt("trainer.plateau.best")?,
            }),
            None => None,
        };
        Ok(Progress {
            epochs_done: record.get("trainer.epochs_done")?,
            initial_lr: record.get_opt("trainer.initial_lr")?,
            plateau,
            fingerprint: None,
        })
    }
}

/// The settings and the progress, not the permutation of every sample.
impl<L: std::fmt::Debug, Opt: std::fmt::Debug> std::fmt::Debug for Trainer<L, Opt> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trainer")
            .field("loss", &self.loss)
            .field("optimizer", &self.optimizer)
            .field("epochs", &self.epochs)
            .field("batch_size", &self.batch_size)
            .field("order", &self.order)
            .field("schedule", &self.schedule)
            .field("evaluate_train", &self.evaluate_train)
            .field("clip", &self.clip)
            .field("epochs_done", &self.progress.epochs_done)
            .finish()
    }
}

/// FNV-1a over the parameters' shapes and bits: which network, in which state.
fn fingerprint<T: Scalar, N: Layer<T, I, O>, const I: usize, const O: usize>(net: &N) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |v: u64| {
        h ^= v;
        h = h.wrapping_mul(0x0100_0000_01b3);
    };
    net.visit_params(&crate::nn::param::Path::ROOT, &mut |p| {
        for byte in p.full_name().to_string().bytes() {
            eat(u64::from(byte));
        }
        for d in p.shape.dims() {
            eat(d as u64);
        }
        for v in p.value {
            eat(v.as_f64().to_bits());
        }
    });
    h
}

/// `½·λ·Σw²` over the weights.
fn weight_penalty<T: Scalar, N: Layer<T, I, O>, const I: usize, const O: usize>(
    net: &N,
    lambda: f64,
) -> f64 {
    if lambda == 0.0 {
        return 0.0;
    }
    let mut sum = 0.0;
    net.visit_params(&crate::nn::param::Path::ROOT, &mut |p| {
        if p.decay {
            sum += p.value.iter().map(|w| w.as_f64() * w.as_f64()).sum::<f64>();
        }
    });
    0.5 * lambda * sum
}

impl<L, Opt> Trainer<L, Opt> {
    /// The most epochs one call of [`Trainer::fit`] runs (2²⁰), so that the history it
    /// returns stays bounded; more is [`Error::InvalidHyperparameter`] before any training.
    /// Call `fit` again to go on: it continues where the last call stopped.
    pub const MAX_EPOCHS: usize = 1 << 20;

    /// A trainer with the default settings.
    pub fn new(loss: L, optimizer: Opt) -> Self {
        Trainer {
            loss,
            optimizer,
            epochs: 10,
            batch_size: 32,
            order: Order::Shuffled { seed: 0 },
            schedule: Schedule::Constant,
            evaluate_train: false,
            clip: None,
            progress: Progress::default(),
            shuffle: Kept::default(),
            #[cfg(feature = "safetensors")]
            checkpoint: None,
        }
    }

    /// Writes a training checkpoint to `path` after every epoch, atomically (see
    /// [`Trainer::save_checkpoint`]): a run killed at any moment resumes from the last epoch
    /// it finished with [`Trainer::resume`].
    #[cfg(feature = "safetensors")]
    pub fn checkpoint_every_epoch(mut self, path: impl AsRef<std::path::Path>) -> Self {
        self.checkpoint = Some(path.as_ref().to_path_buf());
        self
    }

    /// Writes a training checkpoint of `net` to `path`, atomically: the weights, the
    /// optimizer's state, this trainer's progress (epochs done, schedule state), the layers'
    /// counters (dropout masks) and the state of `callbacks` (early stopping's best epoch
    /// and weights, extras such as a scaler). A run resumed from it with
    /// [`Trainer::resume`] ends bit for bit where the uninterrupted run ends. The layout is
    /// described in [`io::Record`](crate::io::Record)'s module; `&mut net` because the
    /// layers report their counters through [`Layer::visit_state`] (nothing is changed).
    ///
    /// # Errors
    /// [`Error::NonFiniteParameter`] for a NaN or infinite parameter; [`Error::Io`] if the
    /// file cannot be written (an existing one is then untouched).
    #[cfg(feature = "safetensors")]
    pub fn save_checkpoint<T, N, C, const I: usize, const O: usize>(
        &self,
        net: &mut N,
        callbacks: &C,
        path: impl AsRef<std::path::Path>,
    ) -> Result<(), Error>
    where
        T: Scalar,
        N: Layer<T, I, O>,
        Opt: Optimizer<T>,
        C: Callback<T> + ?Sized,
    {
        let mut record = crate::train::checkpoint::record(net, &self.optimizer, callbacks);
        self.progress.save(&mut record);
        crate::train::checkpoint::write(net, &record, path.as_ref())
    }

    /// Goes on from the training checkpoint at `path` (written by
    /// [`Trainer::save_checkpoint`] or [`Trainer::checkpoint_every_epoch`]): puts back the
    /// weights into `net`, the optimizer's state, this trainer's progress, the layers'
    /// counters and the state of `callbacks`. The next [`Trainer::fit`] then runs epochs
    /// `epochs_done + 1 ..` of the same run; build the trainer and the callbacks with the
    /// settings of the run that wrote the checkpoint.
    ///
    /// # Errors
    /// [`Error::Io`] or [`Error::Weights`] for a file that cannot be read or is of another
    /// network (naming the tensor); [`Error::Checkpoint`] for a weights file that is no
    /// checkpoint, or one of other callbacks; [`Error::OptimizerState`] for one of another
    /// optimizer. The network, the optimizer and the progress are then unchanged (a
    /// callback may have read part of its state).
    #[cfg(feature = "safetensors")]
    pub fn resume<T, N, C, const I: usize, const O: usize>(
        &mut self,
        net: &mut N,
        callbacks: &mut C,
        path: impl AsRef<std::path::Path>,
    ) -> Result<(), Error>
    where
        T: Scalar,
        N: Layer<T, I, O>,
        Opt: Optimizer<T>,
        C: Callback<T> + ?Sized,
    {
        use crate::train::checkpoint;
        let loaded = checkpoint::read(net, &self.optimizer, path.as_ref())?;
        let progress = Progress::load(&loaded.record)?;
        callbacks.load_state(&loaded.record, "callbacks")?;
        checkpoint::apply(loaded, net, &mut self.optimizer)?;
        self.progress = Progress {
            fingerprint: Some(fingerprint(net)),
            ..progress
        };
        self.shuffle = Kept::default();
        Ok(())
    }

    /// Epochs completed by all calls to [`Trainer::fit`] since the start (or the last
    /// [`Trainer::restart`]).
    pub fn epochs_done(&self) -> usize {
        self.progress.epochs_done
    }

    /// Starts over: forgets the progress (the next [`Trainer::fit`] starts at epoch 1, with
    /// a fresh shuffle stream and schedule, from the optimizer's current learning rate) and
    /// the optimizer's state ([`Reset`]), so that it can train any network.
    pub fn restart(&mut self)
    where
        Opt: Reset,
    {
        self.progress = Progress::default();
        self.shuffle = Kept::default();
        self.optimizer.reset();
    }

    /// Sets the number of epochs of each call of [`Trainer::fit`] (at most
    /// [`Trainer::MAX_EPOCHS`]).
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }

    /// Sets the minibatch size (the last minibatch of an epoch may be smaller).
    /// `fit` rejects 0.
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Sets the sample order.
    pub fn order(mut self, order: Order) -> Self {
        self.order = order;
        self
    }

    /// Sets the learning-rate schedule; the optimizer's rate when training starts is its
    /// base rate.
    pub fn schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// Multiplies the learning rate by `gamma` after every epoch: the schedule
    /// [`Schedule::Exponential`] (PyTorch's `ExponentialLR`). `fit` rejects a `gamma` outside
    /// (0, 1].
    pub fn lr_decay(self, gamma: f64) -> Self {
        self.schedule(Schedule::Exponential { gamma })
    }

    /// Whether to evaluate the whole training set after every epoch
    /// ([`EpochReport::train`]): the loss and accuracy of the network as it is then, rather
    /// than the running mean of the minibatches. Costs a forward pass over the set.
    pub fn evaluate_train(mut self, on: bool) -> Self {
        self.evaluate_train = on;
        self
    }

    /// Clips the gradients of every minibatch step before the optimizer step: by their
    /// global norm or by value (PyTorch's `clip_grad_norm_` / `clip_grad_value_`). Each
    /// epoch's report then gives the norms before clipping ([`EpochReport::grad_norm`]).
    /// `fit` rejects a number that is not finite and `> 0`.
    ///
    /// # Example
    /// ```
    /// use constnet::{data::datasets, nn::{Build, Linear, Relu, SoftmaxCrossEntropy}, optim::Sgd, train::{Clip, Trainer}, Net};
    /// use constnet::rand::{SeedableRng, rngs::StdRng};
    ///
    /// let mut net = <Net![Linear<2, 16>, Relu, Linear<16, 2>]>::init(&mut StdRng::seed_from_u64(0));
    /// let history = Trainer::new(SoftmaxCrossEntropy, Sgd::new(0.5)?)
    ///     .clip(Clip::Norm(1.0))
    ///     .epochs(3)
    ///     .fit(&mut net, &datasets::xor(), None, &mut ())?;
    /// let norms = history[0].grad_norm.unwrap();
    /// assert!(norms.max >= norms.mean && norms.steps == 1);
    /// # Ok::<(), constnet::Error>(())
    /// ```
    pub fn clip(mut self, clip: Clip) -> Self {
        self.clip = Some(clip);
        self
    }

    /// The loss.
    pub fn loss(&self) -> &L {
        &self.loss
    }

    /// The optimizer, e.g. to look at its state between calls to `fit`.
    pub fn optimizer_mut(&mut self) -> &mut Opt {
        &mut self.optimizer
    }

    /// Trains `net` on `train`, evaluating on `validation` after every epoch, and returns one
    /// report per epoch. `callbacks` see every minibatch and epoch and can stop training
    /// ([`Callback`]; `&mut ()` for none).
    ///
    /// A second call goes on where the first stopped: epochs are numbered on, the shuffle
    /// stream, the schedule and dropout masks continue, so `fit` of one epoch twice gives the
    /// very weights of one `fit` of two epochs. [`Trainer::restart`] starts over. The
    /// network is in training mode ([`Layer::set_training`]) for the minibatch steps and in
    /// evaluation mode for evaluations and when `fit` returns.
    ///
    /// # Errors
    /// - [`Error::InvalidBatchSize`] for a batch size of 0;
    /// - [`Error::InvalidHyperparameter`] for schedule numbers out of range (a decay outside
    ///   (0, 1], …), or [`Error::InvalidLearningRate`] if a scheduled rate is negative, or positive but zero in the network's scalar type (a schedule may end at exactly 0);
    /// - [`Error::OtherNetwork`] if this trainer has trained another network (or this one's
    ///   weights were changed since) and was not restarted;
    /// - [`Error::EmptyDataset`] for an empty training or validation set, naming which;
    /// - [`Error::LabelOutOfRange`] / [`Error::InvalidTarget`] for a target the loss cannot
    ///   take, in either dataset (checked before any training);
    /// - [`Error::Diverged`] as soon as a minibatch's loss is NaN or infinite, naming the
    ///   epoch and batch; [`Error::NonFiniteParameter`] if a parameter is NaN or infinite
    ///   after an epoch (a last update that diverged), naming the tensor. The network then
    ///   holds the weights of that moment;
    /// - [`Error::MissingMetric`] if a callback watches a validation metric and no validation
    ///   set was given; any error a callback returns;
    /// - [`Error::InvalidHyperparameter`] for more than [`Trainer::MAX_EPOCHS`] epochs.
    ///
    /// A batch size larger than the training set trains on the whole set at once; memory
    /// for the history grows with the epochs done, not with the epochs asked for.
    pub fn fit<T, N, Y, const I: usize, const O: usize>(
        &mut self,
        net: &mut N,
        train: &Dataset<T, I, Y>,
        validation: Option<&Dataset<T, I, Y>>,
        callbacks: &mut impl Callback<T>,
    ) -> Result<Vec<EpochReport>, Error>
    where
        T: Scalar,
        N: Layer<T, I, O>,
        L: Loss<T, O>,
        Y: TargetsOf<L, L::Target>,
        Opt: Optimizer<T>,
    {
        let train = Y::dataset(train);
        let validation = validation.map(Y::dataset);
        if self.batch_size == 0 {
            return Err(Error::InvalidBatchSize { batch_size: 0 });
        }
        if self.epochs > Self::MAX_EPOCHS {
            return Err(Error::InvalidHyperparameter {
                name: "epochs",
                value: self.epochs as f64,
                expected: "at most 1048576 in one call of fit (call fit again to go on)",
            });
        }
        self.schedule.check()?;
        if let Some(clip) = self.clip {
            clip.check()?;
        }
        if let Some(expected) = self.progress.fingerprint
            && fingerprint(net) != expected
        {
            return Err(Error::OtherNetwork {
                epochs_done: self.progress.epochs_done,
            });
        }
        if train.is_empty() {
            return Err(Error::EmptyDataset {
                what: "training set",
            });
        }
        check_targets(&self.loss, train)?;
        if let Some(v) = validation {
            if v.is_empty() {
                return Err(Error::EmptyDataset {
                    what: "validation set",
                });
            }
            check_targets(&self.loss, v)?;
        }
        let batch_size = self.batch_size.min(train.len());

        let progress = &mut self.progress;
        let initial_lr = *progress
            .initial_lr
            .get_or_insert_with(|| self.optimizer.learning_rate());
        let plateau = progress
            .plateau
            .get_or_insert_with(|| Plateau::new(initial_lr));
        let len = train.len();
        let (mut order, mut rng) = match (self.order, self.shuffle.0.take()) {
            (Order::Shuffled { seed }, Some(kept))
                if (kept.seed, kept.len, kept.epochs) == (seed, len, progress.epochs_done) =>
            {
                (kept.order, Some(kept.rng))
            }
            (Order::Shuffled { seed }, _) => {
                // Where the stream stood after the epochs of earlier calls (or of the run a
                // checkpoint was written from).
                let mut order: Vec<usize> = (0..len).collect();
                let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
                for _ in 0..progress.epochs_done {
                    order.shuffle(&mut rng);
                }
                (order, Some(rng))
            }
            (Order::InOrder, _) => ((0..len).collect(), None),
        };
        let batches = train.len().div_ceil(batch_size);
        let mut workspace = Workspace::<T, N, I, O>::new();
        workspace.set_clip(self.clip)?;
        let mut x = Batch::<T, I>::zeros(0);
        let mut targets = Vec::with_capacity(batch_size);
        let mut history = Vec::new();

        for epoch in progress.epochs_done + 1..=progress.epochs_done.saturating_add(self.epochs) {
            let lr = match self.schedule {
                Schedule::Constant => self.optimizer.learning_rate(),
                Schedule::ReduceOnPlateau { .. } => plateau.lr,
                schedule => schedule.lr(initial_lr, epoch),
            };
            // The rate goes to every step; the optimizer keeps its own, the base rate. A
            // schedule may end at 0 (PyTorch's cosine does); a positive rate that is 0 in `T`
            // would silently train nothing, and is refused.
            let zero_in_t = lr > 0.0 && T::of(lr) == T::zero();
            if !(lr.is_finite() && lr >= 0.0) || zero_in_t {
                return Err(Error::InvalidLearningRate { value: lr });
            }
            net.set_training(true);
            let start = Instant::now();
            if let Some(rng) = rng.as_mut() {
                order.shuffle(rng);
            }
            let mut loss_sum = 0.0;
            let mut correct = Some(0);
            let mut norms = GradNorms::default();
            for (b, indices) in order.chunks(batch_size).enumerate() {
                train.gather(indices, &mut x, &mut targets);
                let out = workspace.step_checked(
                    net,
                    &self.loss,
                    &mut self.optimizer,
                    lr,
                    &x,
                    &targets,
                )?;
                if !out.mean.is_finite() {
                    net.set_training(false);
                    return Err(Error::Diverged {
                        epoch,
                        batch: b + 1,
                        loss: out.mean,
                    });
                }
                if let Some((norm, clipped)) = workspace.last_grad_norm() {
                    norms.mean += norm;
                    norms.max = norms.max.max(norm);
                    norms.clipped += usize::from(clipped);
                    norms.steps += 1;
                }
                loss_sum += out.mean * indices.len() as f64;
                correct = correct.zip(out.correct).map(|(a, b)| a + b);
                callbacks.on_batch(&BatchProgress {
                    epoch,
                    batch: b + 1,
                    batches,
                    running_loss: loss_sum / (b * batch_size + indices.len()) as f64,
                });
            }
            let train_time = start.elapsed();
            net.set_training(false);
            check_finite_params(net, Some(epoch))?;
            let report = EpochReport {
                epoch,
                train_loss: loss_sum / train.len() as f64,
                train_accuracy: correct.map(|c| c as f64 / train.len() as f64),
                train: self
                    .evaluate_train
                    .then(|| evaluate_checked(net, &self.loss, train)),
                weight_penalty: weight_penalty(net, self.optimizer.weight_decay()),
                learning_rate: lr,
                validation: validation.map(|v| evaluate_checked(net, &self.loss, v)),
                train_time,
                max_abs_weights: max_abs_weights(net),
                grad_norm: self.clip.map(|_| GradNorms {
                    mean: norms.mean / norms.steps.max(1) as f64,
                    ..norms
                }),
            };
            plateau.observe(&self.schedule, &report);
            let flow = callbacks.on_epoch(&mut Trained::<N, I, O>(net), &report)?;
            history.try_reserve(1).map_err(|_| Error::OutOfMemory {
                what: "epoch history",
                bytes: (history.len() + 1) * core::mem::size_of::<EpochReport>(),
            })?;
            history.push(report);
            progress.epochs_done = epoch;
            #[cfg(feature = "safetensors")]
            if let Some(path) = &self.checkpoint {
                use crate::train::checkpoint;
                let mut record = checkpoint::record(net, &self.optimizer, callbacks);
                let now = Progress {
                    epochs_done: epoch,
                    initial_lr: Some(initial_lr),
                    plateau: Some(*plateau),
                    fingerprint: None,
                };
                now.save(&mut record);
                checkpoint::write(net, &record, path)?;
            }
            if flow.is_break() {
                break;
            }
        }
        callbacks.on_end(&mut Trained::<N, I, O>(net))?;
        progress.fingerprint = Some(fingerprint(net));
        if let (Order::Shuffled { seed }, Some(rng)) = (self.order, rng) {
            self.shuffle.0 = Some(Shuffle {
                seed,
                len,
                epochs: progress.epochs_done,
                rng,
                order,
            });
        }
        Ok(history)
    }
}
