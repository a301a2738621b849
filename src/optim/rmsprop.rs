//! [`RmsProp`]: gradients divided by a running root mean square of their recent values.

use core::fmt;

use crate::base::scalar::SameScalar;
use crate::nn::param::ParamMut;
use crate::optim::kernels::{RmsPropStep, rmsprop_update};
use crate::optim::optimizer::{
    Optimizer, Reset, check_lr, check_range, convert, shared_optimizer_methods,
};
use crate::optim::state::OptimizerState;
use crate::{base::scalar::Scalar, error::Error};

/// RMSprop (Hinton, 2012), PyTorch's `optim.RMSprop` formula and defaults:
///
/// `g ← g + λ·w` (weights only), `s ← α·s + (1−α)·g²`,
/// centred: `ḡ ← α·ḡ + (1−α)·g`, `d = √(s − ḡ²) + ε`; otherwise `d = √s + ε`;
/// with momentum `μ`: `b ← μ·b + g/d`, `w ← w − η·b`; otherwise `w ← w − η·g/d`.
///
/// Defaults `α = 0.99`, `ε = 10⁻⁸`, no momentum, not centred, no weight decay. Its state per
/// tensor is PyTorch's `square_avg`, with `momentum_buffer` and `grad_avg` when used.
///
/// # Example
/// ```
/// use constnet::optim::{Optimizer, RmsProp};
/// let rmsprop: RmsProp = RmsProp::new(1e-3)?.momentum(0.9)?.centered(true);
/// let boxed: Box<dyn Optimizer<f32>> = Box::new(rmsprop);
/// assert_eq!(boxed.state().buffer_names, ["square_avg", "momentum_buffer", "grad_avg"]);
/// # Ok::<(), constnet::Error>(())
/// ```
#[derive(Clone)]
pub struct RmsProp<T: Scalar = f32> {
    lr: f64,
    alpha: f64,
    eps: f64,
    momentum: f64,
    centered: bool,
    weight_decay: f64,
    state: OptimizerState<T>,
}

impl<T: Scalar> RmsProp<T> {
    /// RMSprop with learning rate `lr` (PyTorch's default is 10⁻²) and the defaults.
    ///
    /// # Errors
    /// [`Error::InvalidLearningRate`] unless `lr` is finite and greater than zero.
    pub fn new(lr: f64) -> Result<Self, Error> {
        let mut rmsprop = RmsProp {
            lr: check_lr::<T>(lr)?,
            alpha: 0.99,
            eps: 1e-8,
            momentum: 0.0,
            centered: false,
            weight_decay: 0.0,
            state: OptimizerState::new("RMSprop", &[]),
        };
        rmsprop.remake_state();
        Ok(rmsprop)
    }

    /// The state's buffers for the chosen variant (and a fresh state).
    fn remake_state(&mut self) {
        let buffers: &'static [&'static str] = match (self.momentum > 0.0, self.centered) {
            (false, false) => &["square_avg"],
            (true, false) => &["square_avg", "momentum_buffer"],
            (false, true) => &["square_avg", "grad_avg"],
            (true, true) => &["square_avg", "momentum_buffer", "grad_avg"],
        };
        self.state = OptimizerState::new("RMSprop", buffers);
    }

    /// The learning rate it was made with.
    pub fn learning_rate(&self) -> f64 {
        self.lr
    }

    /// Sets the smoothing constant `α` of the running averages.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] unless `α` lies in [0, 1).
    pub fn alpha(mut self, alpha: f64) -> Result<Self, Error> {
        let ok = (0.0..1.0).contains(&alpha);
        self.alpha = check_range("alpha", alpha, ok, "in [0, 1)")?;
        Ok(self)
    }

    /// Sets ε, added to the root mean square.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] unless `ε` is finite and `> 0`.
    pub fn eps(mut self, eps: f64) -> Result<Self, Error> {
        self.eps = check_range("epsilon", eps, eps > 0.0, "> 0")?;
        Ok(self)
    }

    /// Sets the momentum `μ` (0 for none).
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] unless `0 ≤ μ < 1`.
    pub fn momentum(mut self, momentum: f64) -> Result<Self, Error> {
        let ok = (0.0..1.0).contains(&momentum);
        self.momentum = check_range("momentum", momentum, ok, "in [0, 1)")?;
        self.remake_state();
        Ok(self)
    }

    /// Uses the centred variant, which divides by an estimate of the gradient's standard
    /// deviation rather than its root mean square.
    pub fn centered(mut self, on: bool) -> Self {
        self.centered = on;
        self.remake_state();
        self
    }

    /// Sets the L2 weight decay `λ` (added to the gradient of weights, not biases).
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] unless `λ` is finite and `≥ 0`.
    pub fn weight_decay(mut self, lambda: f64) -> Result<Self, Error> {
        self.weight_decay = check_range("weight decay", lambda, lambda >= 0.0, "≥ 0")?;
        Ok(self)
    }
}

/// For parameters of the optimizer's own scalar type only (see [`Sgd`](crate::optim::Sgd)'s impl).
impl<T: SameScalar<U>, U: Scalar> Optimizer<T> for RmsProp<U> {
    fn update(&mut self, slot: usize, p: ParamMut<'_, T>, lr: f64) -> Result<(), Error> {
        let decay = if p.decay { self.weight_decay } else { 0.0 };
        let k = RmsPropStep {
            lr: T::of(lr),
            alpha: T::of(self.alpha),
            c: T::of(1.0 - self.alpha),
            eps: T::of(self.eps),
            mu: T::of(self.momentum),
            decay: T::of(decay),
        };
        let (momentum, centered) = (self.momentum > 0.0, self.centered);
        let buffers = self.state.buffers(slot, &p)?;
        let (square_avg, rest) = buffers
            .split_first_mut()
            .expect("RMSprop keeps square_avg for every tensor");
        let (momentum_buffer, rest): (&mut [U], _) = match rest.split_first_mut() {
            Some((b, rest)) if momentum => (b, rest),
            _ => (&mut [], rest),
        };
        let grad_avg: &mut [U] = match rest.first_mut() {
            Some(a) if centered => a,
            _ => &mut [],
        };
        rmsprop_update(
            p.value,
            p.grad,
            T::same_mut(square_avg),
            T::same_mut(momentum_buffer),
            T::same_mut(grad_avg),
            &k,
        );
        Ok(())
    }

    shared_optimizer_methods!();
}

impl<T: Scalar> Reset for RmsProp<T> {
    fn reset(&mut self) {
        self.state.clear();
    }
}

impl<T: Scalar> fmt::Debug for RmsProp<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RmsProp")
            .field("lr", &self.lr)
            .field("alpha", &self.alpha)
            .field("eps", &self.eps)
            .field("momentum", &self.momentum)
            .field("centered", &self.centered)
            .field("weight_decay", &self.weight_decay)
            .field("averages", &format_args!("{}", self.state.size()))
            .finish()
    }
}
