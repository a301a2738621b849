//! [`Adam`]: adaptive moment estimation, with L2 weight decay added to the gradient.

use core::fmt;

use crate::base::scalar::SameScalar;
use crate::nn::param::ParamMut;
use crate::optim::kernels::{AdamStep, adam_update, for_parts};
use crate::optim::optimizer::{
    Optimizer, Reset, check_lr, check_range, convert, shared_optimizer_methods,
};
use crate::optim::state::OptimizerState;
use crate::{base::scalar::Scalar, error::Error};
#[allow(unused_imports)]
use num_traits::Float as _;

/// The builder methods of an optimizer with Adam's moments, for a struct with the fields
/// `beta1`, `beta2` and `eps`: [`Adam`] and [`AdamW`](crate::optim::AdamW).
macro_rules! moment_settings {
    () => {
        /// Sets the decay rates of the first and second moment estimates.
        ///
        /// # Errors
        /// [`Error::InvalidHyperparameter`] unless both lie in [0, 1).
        pub fn betas(mut self, beta1: f64, beta2: f64) -> Result<Self, Error> {
            let ok1 = (0.0..1.0).contains(&beta1);
            let ok2 = (0.0..1.0).contains(&beta2);
            self.beta1 = check_range("beta1", beta1, ok1, "in [0, 1)")?;
            self.beta2 = check_range("beta2", beta2, ok2, "in [0, 1)")?;
            Ok(self)
        }

        /// Sets ε, the term that keeps the denominator away from zero.
        ///
        /// # Errors
        /// [`Error::InvalidHyperparameter`] unless `ε` is finite and `> 0`.
        pub fn eps(mut self, eps: f64) -> Result<Self, Error> {
            self.eps = check_range("epsilon", eps, eps > 0.0, "> 0")?;
            Ok(self)
        }
    };
}
pub(super) use moment_settings;

/// `Reset` and a `Debug` that prints the settings and the size of the moments, not their
/// values, for [`Adam`] and [`AdamW`](crate::optim::AdamW).
macro_rules! moment_impls {
    ($name:ident) => {
        impl<T: Scalar> Reset for $name<T> {
            fn reset(&mut self) {
                self.state.clear();
            }
        }

        impl<T: Scalar> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("lr", &self.lr)
                    .field("betas", &(self.beta1, self.beta2))
                    .field("eps", &self.eps)
                    .field("weight_decay", &self.weight_decay)
                    .field("steps", &self.state.steps)
                    .field("moments", &format_args!("{}", self.state.size()))
                    .finish()
            }
        }
    };
}
pub(super) use moment_impls;

/// Adam (Kingma & Ba, 2015) with optional L2 weight decay added to the gradient:
///
/// `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`,
/// `w ← w − η·m̂ / (√v̂ + ε)` with `m̂ = m/(1−β₁ᵗ)`, `v̂ = v/(1−β₂ᵗ)`.
/// Defaults `β₁ = 0.9`, `β₂ = 0.999`, `ε = 10⁻⁸`, as PyTorch's `optim.Adam`.
///
/// # Example
/// ```
/// use constnet::optim::Adam;
/// let adam: Adam = Adam::new(1e-3)?.betas(0.9, 0.99)?;
/// assert!(Adam::<f32>::new(f64::NAN).is_err());
/// # Ok::<(), constnet::Error>(())
/// ```
#[derive(Clone)]
pub struct Adam<T: Scalar = f32> {
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    state: OptimizerState<T>,
}

impl<T: Scalar> Adam<T> {
    /// Adam with learning rate `lr` (10⁻³ is usual) and the default betas and ε.
    ///
    /// # Errors
    /// [`Error::InvalidLearningRate`] unless `lr` is finite and greater than zero.
    pub fn new(lr: f64) -> Result<Self, Error> {
        Ok(Adam {
            lr: check_lr::<T>(lr)?,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            state: OptimizerState::new("Adam", &["exp_avg", "exp_avg_sq"]),
        })
    }

    /// The learning rate it was made with (as [`Optimizer::learning_rate`], callable
    /// without naming the network's scalar type).
    pub fn learning_rate(&self) -> f64 {
        self.lr
    }

    /// Starts a step (as [`Optimizer::begin_step`]): counts it for the bias corrections.
    pub fn begin_step(&mut self) {
        self.state.steps = self.state.steps.saturating_add(1);
    }

    moment_settings!();

    /// Sets the L2 weight decay `λ` (applied to weights, not biases).
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] unless `λ` is finite and `≥ 0`.
    pub fn weight_decay(mut self, lambda: f64) -> Result<Self, Error> {
        self.weight_decay = check_range("weight decay", lambda, lambda >= 0.0, "≥ 0")?;
        Ok(self)
    }
}

/// For parameters of the optimizer's own scalar type only (see [`Sgd`](crate::optim::Sgd)'s impl).
impl<T: SameScalar<U>, U: Scalar> Optimizer<T> for Adam<U> {
    fn begin_step(&mut self) {
        Adam::begin_step(self);
    }

    fn update(&mut self, slot: usize, p: ParamMut<'_, T>, lr: f64) -> Result<(), Error> {
        let t = i32::try_from(self.state.steps.max(1)).unwrap_or(i32::MAX);
        // Step size with both bias corrections folded in, as in Algorithm 1 of the paper.
        let step = lr * (1.0 - self.beta2.powi(t)).sqrt() / (1.0 - self.beta1.powi(t));
        let eps = self.eps * (1.0 - self.beta2.powi(t)).sqrt();
        let (b1, b2) = (T::of(self.beta1), T::of(self.beta2));
        let (c1, c2) = (T::one() - b1, T::one() - b2);
        let (step, eps) = (T::of(step), T::of(eps));
        let decay = if p.decay {
            T::of(self.weight_decay)
        } else {
            T::zero()
        };
        let [m, v] = self.state.buffers(slot, &p)? else {
            unreachable!("Adam keeps two buffers per tensor")
        };
        let k = AdamStep {
            b1,
            b2,
            c1,
            c2,
            step,
            eps,
            decay,
        };
        let (m, v) = (T::same_mut(m), T::same_mut(v));
        for_parts(p.value, p.grad, m, v, &|w, g, m, v| {
            adam_update(w, g, m, v, &k)
        });
        Ok(())
    }

    shared_optimizer_methods!();
}

moment_impls!(Adam);
