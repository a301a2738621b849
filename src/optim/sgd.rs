//! [`Sgd`]: stochastic gradient descent, with (Nesterov) momentum and L2 weight decay.

use core::fmt;

use crate::base::scalar::SameScalar;
use crate::nn::param::ParamMut;
use crate::optim::kernels::{
    MomentumStep, SMALL, for_parts, momentum_update, sgd_kernel, sgd_update,
};
use crate::optim::optimizer::{
    Optimizer, Reset, check_lr, check_range, convert, shared_optimizer_methods,
};
use crate::optim::state::OptimizerState;
use crate::{base::scalar::Scalar, error::Error};

/// Stochastic gradient descent, optionally with momentum (heavy-ball or Nesterov) and L2
/// weight decay:
///
/// `g ← ∇ + λ·w` (weights only), `v ← μ·v + g`, `w ← w − η·(Nesterov ? g + μ·v : v)`;
/// with `μ = 0` this is `w ← w − η·g`. The same update as PyTorch's `optim.SGD`
/// (`dampening = 0`).
///
/// # Example
/// ```
/// use constnet::optim::Sgd;
/// let plain: Sgd = Sgd::new(0.1)?;
/// let momentum: Sgd<f64> = Sgd::new(0.01)?.momentum(0.9)?.nesterov(true).weight_decay(1e-4)?;
/// assert!(Sgd::<f32>::new(0.0).is_err());
/// # Ok::<(), constnet::Error>(())
/// ```
#[derive(Clone)]
pub struct Sgd<T: Scalar = f32> {
    lr: f64,
    momentum: f64,
    nesterov: bool,
    weight_decay: f64,
    state: OptimizerState<T>,
}

impl<T: Scalar> Sgd<T> {
    /// Plain SGD with learning rate `lr`.
    ///
    /// # Errors
    /// [`Error::InvalidLearningRate`] unless `lr` is finite and greater than zero.
    pub fn new(lr: f64) -> Result<Self, Error> {
        Ok(Sgd {
            lr: check_lr::<T>(lr)?,
            momentum: 0.0,
            nesterov: false,
            weight_decay: 0.0,
            state: OptimizerState::new("Sgd", &[]),
        })
    }

    /// The learning rate it was made with (as [`Optimizer::learning_rate`], callable
    /// without naming the network's scalar type).
    pub fn learning_rate(&self) -> f64 {
        self.lr
    }

    /// Sets the momentum `μ` (0.9 is usual).
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] unless `0 ≤ μ < 1`.
    pub fn momentum(mut self, momentum: f64) -> Result<Self, Error> {
        let ok = (0.0..1.0).contains(&momentum);
        self.momentum = check_range("momentum", momentum, ok, "in [0, 1)")?;
        let buffers: &'static [&'static str] = if self.momentum == 0.0 {
            &[]
        } else {
            &["momentum_buffer"]
        };
        self.state = OptimizerState::new("Sgd", buffers);
        Ok(self)
    }

    /// Uses Nesterov's look-ahead form of momentum.
    pub fn nesterov(mut self, on: bool) -> Self {
        self.nesterov = on;
        self
    }

    /// Sets the L2 weight decay `λ` (applied to weights, not biases).
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] unless `λ` is finite and `≥ 0`.
    pub fn weight_decay(mut self, lambda: f64) -> Result<Self, Error> {
        self.weight_decay = check_range("weight decay", lambda, lambda >= 0.0, "≥ 0")?;
        Ok(self)
    }
}

/// For parameters of the optimizer's own scalar type only: `T: SameScalar<U>` is checked
/// after the network has fixed `T`, so a mismatch names the optimizer, not the network.
impl<T: SameScalar<U>, U: Scalar> Optimizer<T> for Sgd<U> {
    #[inline(always)]
    fn update(&mut self, slot: usize, p: ParamMut<'_, T>, lr: f64) -> Result<(), Error> {
        let lr = T::of(lr);
        let decay = if p.decay {
            T::of(self.weight_decay)
        } else {
            T::zero()
        };
        if self.momentum == 0.0 {
            for_parts(p.value, p.grad, &mut [], &mut [], &|w, g, _, _| {
                if w.len() < SMALL {
                    sgd_kernel(w, g, lr, decay);
                } else {
                    sgd_update(w, g, lr, decay);
                }
            });
            return Ok(());
        }
        let [velocity] = self.state.buffers(slot, &p)? else {
            unreachable!("SGD with momentum keeps one buffer per tensor")
        };
        let k = MomentumStep {
            lr,
            mu: T::of(self.momentum),
            decay,
            nesterov: self.nesterov,
        };
        for_parts(
            p.value,
            p.grad,
            T::same_mut(velocity),
            &mut [],
            &|w, g, v, _| {
                momentum_update(w, g, v, &k);
            },
        );
        Ok(())
    }

    shared_optimizer_methods!();
}

impl<T: Scalar> Reset for Sgd<T> {
    fn reset(&mut self) {
        self.state.clear();
    }
}

impl<T: Scalar> fmt::Debug for Sgd<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sgd")
            .field("lr", &self.lr)
            .field("momentum", &self.momentum)
            .field("nesterov", &self.nesterov)
            .field("weight_decay", &self.weight_decay)
            .field("velocity", &format_args!("{}", self.state.size()))
            .finish()
    }
}
