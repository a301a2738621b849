//! The [`Optimizer`] trait: a per-tensor update with the learning rate passed in, and state
//! kept as data ([`OptimizerState`]).

use crate::alloc_prelude::*;
use crate::nn::param::{ParamMut, Path};
use crate::optim::state::OptimizerState;
use crate::{base::scalar::Scalar, error::Error, nn::layer::Layer};

/// Updates parameters from their accumulated gradients.
///
/// The learning rate is an argument of every step, not a setting of the optimizer: a
/// schedule computes it and passes it in, and never reaches inside the optimizer. What the
/// optimizer keeps between steps (momentum, Adam's moments and step count) is an
/// [`OptimizerState`], keyed by parameter name and checked by shape, that can be saved and
/// loaded ([`Trainer::save_checkpoint`](crate::train::trainer::Trainer::save_checkpoint)).
///
/// # Example
/// ```
/// use constnet::{nn::{Layer, Linear}, optim::{Optimizer, Sgd}};
/// use nalgebra::SVector;
///
/// let mut net = Linear::<1, 1, f64>::zeros();
/// let mut sgd = Sgd::new(0.1)?.momentum(0.9)?;
/// let (y, ()) = net.forward_tape(&SVector::from([1.0]));
/// net.backward(&SVector::from([1.0]), &y, &SVector::from([-1.0]), &());
/// sgd.step(&mut net, 0.5)?; // this step's learning rate, e.g. from a schedule
/// assert_eq!(net.weight()[(0, 0)], 0.5);
/// let state: constnet::optim::OptimizerState<f64> = sgd.state();
/// assert_eq!(state.tensors[0].name, "0.weight");
/// # Ok::<(), constnet::Error>(())
/// ```
pub trait Optimizer<T: Scalar> {
    /// Called once at the start of every step, before the first [`Optimizer::update`].
    fn begin_step(&mut self) {}

    /// Updates one parameter tensor from its gradient with learning rate `lr`, and sets the
    /// gradient to zero. Only [learned](crate::nn::Role::Learned) tensors are passed in. `slot` numbers the tensors of a network in visiting order, the same
    /// at every step.
    ///
    /// # Errors
    /// [`Error::OptimizerState`] if the state kept for `slot` is of a tensor of another
    /// shape (this optimizer's state is of another network); the tensor is then unchanged.
    fn update(&mut self, slot: usize, param: ParamMut<'_, T>, lr: f64) -> Result<(), Error>;

    /// The learning rate it was made with: the rate of [`train_sample`](crate::train::step::train_sample)
    /// and [`Workspace::step`](crate::train::step::Workspace::step), and the base rate of a
    /// [`Trainer`](crate::train::trainer::Trainer)'s schedule.
    fn learning_rate(&self) -> f64;

    /// The L2 weight-decay coefficient λ it applies to decayed parameters (0 for none), so
    /// that the penalty `½·λ·Σw²` can be reported beside the loss.
    fn weight_decay(&self) -> f64 {
        0.0
    }

    /// Forgets the state kept per tensor (momentum, moments, step count), as if new.
    fn reset(&mut self);

    /// What it keeps between steps, as data.
    fn state(&self) -> OptimizerState<T>;

    /// Goes on from `state` (from [`Optimizer::state`] of an optimizer of the same kind).
    ///
    /// # Errors
    /// [`Error::OptimizerState`] if `state` is of another optimizer or other buffers; the
    /// state is then unchanged.
    fn load_state(&mut self, state: OptimizerState<T>) -> Result<(), Error>;

    /// One step on `net` with learning rate `lr`: updates every parameter from its
    /// accumulated gradient and resets the gradients to zero.
    ///
    /// # Errors
    /// [`Error::OptimizerState`] if this optimizer's state is of another network (a tensor
    /// of another shape); tensors visited before the one that does not fit are updated.
    #[inline]
    fn step<N: Layer<T, I, O>, const I: usize, const O: usize>(
        &mut self,
        net: &mut N,
        lr: f64,
    ) -> Result<(), Error>
    where
        Self: Sized,
    {
        let mut failed = None;
        step_into(self, net, lr, &mut failed);
        failed.map_or(Ok(()), Err)
    }
}

/// [`Optimizer::step`] with the error, if any, written to `failed` (only on the cold path):
/// the training steps return their loss in a register and carry no `Result` through their
/// hot loops.
#[inline(always)]
pub(crate) fn step_into<T, Opt, N, const I: usize, const O: usize>(
    optimizer: &mut Opt,
    net: &mut N,
    lr: f64,
    failed: &mut Option<Error>,
) where
    T: Scalar,
    Opt: Optimizer<T> + ?Sized,
    N: Layer<T, I, O>,
{
    optimizer.begin_step();
    let mut slot = 0;
    net.visit_params_mut(&Path::ROOT, &mut |p| {
        if !p.role.is_learned() {
            return; // a buffer: the training passes keep it
        }
        if failed.is_none()
            && let Err(e) = optimizer.update(slot, p, lr)
        {
            *failed = Some(e);
        }
        slot += 1;
    });
}

/// Optimizers whose state can be cleared without naming the scalar type: what
/// [`Trainer::restart`](crate::train::trainer::Trainer::restart) asks. Implemented by
/// [`Sgd`](crate::optim::Sgd), [`Adam`](crate::optim::Adam) and `Box<dyn Optimizer<T>>`; for an optimizer
/// of your own, call its [`Optimizer::reset`].
pub trait Reset {
    /// Forgets the state.
    fn reset(&mut self);
}

impl<T: Scalar> Reset for Box<dyn Optimizer<T> + '_> {
    fn reset(&mut self) {
        Optimizer::reset(&mut **self);
    }
}

/// An optimizer chosen at run time: `Box<dyn Optimizer<T>>` works wherever an optimizer does.
///
/// # Example
/// ```
/// use constnet::optim::{Adam, Optimizer, Sgd};
/// fn optimizer(name: &str, lr: f64) -> Result<Box<dyn Optimizer<f32>>, constnet::Error> {
///     Ok(match name {
///         "adam" => Box::new(Adam::new(lr)?),
///         "momentum" => Box::new(Sgd::new(lr)?.momentum(0.9)?),
///         _ => Box::new(Sgd::new(lr)?),
///     })
/// }
/// assert_eq!(optimizer("adam", 0.01)?.learning_rate(), 0.01);
/// # Ok::<(), constnet::Error>(())
/// ```
impl<T: Scalar, Opt: Optimizer<T> + ?Sized> Optimizer<T> for Box<Opt> {
    fn begin_step(&mut self) {
        (**self).begin_step();
    }
    fn update(&mut self, slot: usize, param: ParamMut<'_, T>, lr: f64) -> Result<(), Error> {
        (**self).update(slot, param, lr)
    }
    fn learning_rate(&self) -> f64 {
        (**self).learning_rate()
    }
    fn weight_decay(&self) -> f64 {
        (**self).weight_decay()
    }
    fn reset(&mut self) {
        (**self).reset();
    }
    fn state(&self) -> OptimizerState<T> {
        (**self).state()
    }
    fn load_state(&mut self, state: OptimizerState<T>) -> Result<(), Error> {
        (**self).load_state(state)
    }
}

/// The methods [`Sgd`](crate::optim::Sgd) and [`Adam`](crate::optim::Adam) share, for an
/// optimizer whose base rate, decay and state are its fields `lr`, `weight_decay` and
/// `state` (in its own scalar type, seen as the network's `T`).
macro_rules! shared_optimizer_methods {
    () => {
        fn weight_decay(&self) -> f64 {
            self.weight_decay
        }

        $crate::optim::optimizer::shared_optimizer_methods!(decoupled);
    };
    // An optimizer whose decay is not an L2 penalty (AdamW's): `weight_decay()` stays 0.
    (decoupled) => {
        fn learning_rate(&self) -> f64 {
            self.lr
        }

        fn reset(&mut self) {
            self.state.clear();
        }

        fn state(&self) -> OptimizerState<T> {
            convert(&self.state)
        }

        fn load_state(&mut self, state: OptimizerState<T>) -> Result<(), Error> {
            self.state.replace(convert(&state))
        }
    };
}
pub(super) use shared_optimizer_methods;

/// A learning rate that is finite and greater than zero also in the network's scalar type
/// `T` (`1e-50` is positive as an `f64` but 0 as an `f32`, and would silently train nothing).
pub(super) fn check_lr<T: Scalar>(lr: f64) -> Result<f64, Error> {
    let in_t = T::of(lr);
    if lr.is_finite() && lr > 0.0 && in_t.finite() && in_t > T::zero() {
        Ok(lr)
    } else {
        Err(Error::InvalidLearningRate { value: lr })
    }
}

/// `value` if `ok` and finite, else the error naming the hyperparameter.
pub(super) fn check_range(
    name: &'static str,
    value: f64,
    ok: bool,
    expected: &'static str,
) -> Result<f64, Error> {
    if ok && value.is_finite() {
        Ok(value)
    } else {
        Err(Error::InvalidHyperparameter {
            name,
            value,
            expected,
        })
    }
}

/// The same state in the network's scalar type `T`, which is the optimizer's own `U`
/// (checked by `SameScalar`): every value converts exactly.
pub(super) fn convert<U: Scalar, T: Scalar>(state: &OptimizerState<U>) -> OptimizerState<T> {
    OptimizerState {
        optimizer: state.optimizer,
        buffer_names: state.buffer_names,
        steps: state.steps,
        tensors: state
            .tensors
            .iter()
            .map(|t| crate::optim::state::TensorState {
                name: t.name.clone(),
                shape: t.shape,
                buffers: t
                    .buffers
                    .iter()
                    .map(|b| b.iter().map(|v| T::of(v.as_f64())).collect())
                    .collect(),
            })
            .collect(),
    }
}
