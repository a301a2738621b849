//! [`AdamW`]: Adam with decoupled weight decay.

use core::fmt;

use crate::base::scalar::SameScalar;
use crate::nn::param::ParamMut;
use crate::optim::adam::{moment_impls, moment_settings};
use crate::optim::kernels::{AdamWStep, adamw_update, for_parts};
use crate::optim::optimizer::{
    Optimizer, Reset, check_lr, check_range, convert, shared_optimizer_methods,
};
use crate::optim::state::OptimizerState;
use crate::{base::scalar::Scalar, error::Error};
#[allow(unused_imports)]
use num_traits::Float as _;

/// AdamW (Loshchilov & Hutter, 2019): Adam whose weight decay shrinks the weights directly
/// instead of adding `λ·w` to the gradient, PyTorch's `optim.AdamW` formula and defaults:
///
/// `w ← w·(1 − η·λ)` (weights only, not biases or normalisation scales),
/// `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`,
/// `w ← w − (η/(1−β₁ᵗ))·m / (√v/√(1−β₂ᵗ) + ε)`.
///
/// Defaults `β₁ = 0.9`, `β₂ = 0.999`, `ε = 10⁻⁸`, `λ = 0.01`. The decay is decoupled from
/// the loss, so [`Optimizer::weight_decay`] (the L2 penalty reported beside the loss) is 0;
/// [`AdamW::decoupled_decay`] gives `λ`.
///
/// # Example
/// ```
/// use constnet::optim::{AdamW, Optimizer};
/// let adamw: AdamW = AdamW::new(1e-3)?.weight_decay(0.05)?;
/// assert_eq!(adamw.decoupled_decay(), 0.05);
/// let boxed: Box<dyn Optimizer<f32>> = Box::new(adamw);
/// assert_eq!(boxed.learning_rate(), 1e-3);
/// # Ok::<(), constnet::Error>(())
/// ```
#[derive(Clone)]
pub struct AdamW<T: Scalar = f32> {
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    state: OptimizerState<T>,
}

impl<T: Scalar> AdamW<T> {
    /// AdamW with learning rate `lr` and PyTorch's defaults (`λ = 0.01`).
    ///
    /// # Errors
    /// [`Error::InvalidLearningRate`] unless `lr` is finite and greater than zero.
    pub fn new(lr: f64) -> Result<Self, Error> {
        Ok(AdamW {
            lr: check_lr::<T>(lr)?,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
            state: OptimizerState::new("AdamW", &["exp_avg", "exp_avg_sq"]),
        })
    }

    /// The learning rate it was made with.
    pub fn learning_rate(&self) -> f64 {
        self.lr
    }

    /// The decoupled weight decay `λ`.
    pub fn decoupled_decay(&self) -> f64 {
        self.weight_decay
    }

    moment_settings!();

    /// Sets the decoupled weight decay `λ` (applied to weights, not biases).
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] unless `λ` is finite and `≥ 0`.
    pub fn weight_decay(mut self, lambda: f64) -> Result<Self, Error> {
        self.weight_decay = check_range("weight decay", lambda, lambda >= 0.0, "≥ 0")?;
        Ok(self)
    }
}

/// For parameters of the optimizer's own scalar type only (see [`Sgd`](crate::optim::Sgd)'s impl).
impl<T: SameScalar<U>, U: Scalar> Optimizer<T> for AdamW<U> {
    fn begin_step(&mut self) {
        self.state.steps = self.state.steps.saturating_add(1);
    }

    fn update(&mut self, slot: usize, p: ParamMut<'_, T>, lr: f64) -> Result<(), Error> {
        let t = i32::try_from(self.state.steps.max(1)).unwrap_or(i32::MAX);
        let shrink = if p.decay {
            1.0 - lr * self.weight_decay
        } else {
            1.0
        };
        let k = AdamWStep {
            shrink: T::of(shrink),
            b2: T::of(self.beta2),
            c1: T::of(1.0 - self.beta1),
            c2: T::of(1.0 - self.beta2),
            step: T::of(lr / (1.0 - self.beta1.powi(t))),
            root_c2: T::of((1.0 - self.beta2.powi(t)).sqrt()),
            eps: T::of(self.eps),
        };
        let [m, v] = self.state.buffers(slot, &p)? else {
            unreachable!("AdamW keeps two buffers per tensor")
        };
        let (m, v) = (T::same_mut(m), T::same_mut(v));
        for_parts(p.value, p.grad, m, v, &|w, g, m, v| {
            adamw_update(w, g, m, v, &k)
        });
        Ok(())
    }

    // The decay is not an L2 penalty: `weight_decay()` keeps its default, 0.
    shared_optimizer_methods!(decoupled);
}

moment_impls!(AdamW);
