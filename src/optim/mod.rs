//! Optimizers: plain SGD, SGD with (Nesterov) momentum, and Adam, each with optional L2
//! weight decay.
//!
//! An optimizer updates one parameter tensor at a time ([`Optimizer::update`]), keeping its
//! own state per tensor (`slot`), allocated once on the first step. Networks drive it through
//! [`Layer::step`](crate::Layer::step).

use core::fmt;

// f64 math (`sqrt`, `ln`, …) through `libm` without `std`; with `std` the inherent
// methods are used and this import is not.
use crate::base::parallel::{DisjointParts, current_threads, run_parts};
use crate::base::scalar::SameScalar;
use crate::base::simd;
use crate::nn::param::{ParamMut, Path};
use crate::prelude::*;
use crate::{Error, Layer, Scalar};
#[allow(unused_imports)]
use num_traits::Float as _;

/// Tensors from which an update is shared between the threads of
/// [`with_threads`](crate::with_threads): each thread then updates the part of the weights
/// whose gradient it computed, in its own cache.
const SPLIT_LEN: usize = 1 << 15;

/// An elementwise update of matching parts of a parameter, its gradient and two state buffers.
type PartUpdate<'a, T> = dyn Fn(&mut [T], &mut [T], &mut [T], &mut [T]) + Sync + 'a;

/// Calls `update(w, g, s1, s2)` on matching parts of the parameter, its gradient and up to
/// two state buffers (empty slices when absent), on several threads for large tensors.
/// Elementwise updates give the same values however the tensor is split.
fn for_parts<T: Scalar>(
    value: &mut [T],
    grad: &mut [T],
    state1: &mut [T],
    state2: &mut [T],
    update: &PartUpdate<'_, T>,
) {
    let len = value.len();
    // Small tensors (all of a small network's) skip even the thread-count lookup.
    if len < SPLIT_LEN {
        update(value, grad, state1, state2);
        return;
    }
    let threads = current_threads();
    if threads <= 1 {
        update(value, grad, state1, state2);
        return;
    }
    let threads = threads.min(DisjointParts::<T>::MAX_PARTS);
    // An absent state (an empty buffer) gives every part an empty slice.
    let buffers = [value, grad, state1, state2].map(|b| DisjointParts::new(b, 1, threads));
    run_parts(threads, &|k| {
        let [a, b, c, d] = buffers.each_ref().map(|b| b.take(k));
        update(a, b, c, d);
    });
}

/// Tensors shorter than this (all of a small network's) are updated by the loop compiled into
/// the caller, without the run-time choice of build: a call for a few hundred values.
const SMALL: usize = 512;

/// `w ← w − η·(g + λ·w)`, `g ← 0`, elementwise (plain SGD; `λ·w` only when `λ ≠ 0`).
#[inline(always)]
fn sgd_kernel<T: Scalar>(w: &mut [T], g: &mut [T], lr: T, decay: T) {
    if decay == T::zero() {
        for (w, g) in w.iter_mut().zip(g.iter_mut()) {
            *w -= lr * *g;
            *g = T::zero();
        }
    } else {
        for (w, g) in w.iter_mut().zip(g.iter_mut()) {
            *w -= lr * (*g + decay * *w);
            *g = T::zero();
        }
    }
}

simd::multiversion! {
    /// [`sgd_kernel`], compiled for the CPU's vector width.
    fn sgd_update[T: Scalar](w: &mut [T], g: &mut [T], lr: T, decay: T) = sgd_kernel;
}

/// The constants of one SGD-with-momentum update.
#[derive(Clone, Copy)]
struct MomentumStep<T> {
    lr: T,
    mu: T,
    decay: T,
    nesterov: bool,
}

/// `v ← μ·v + g + λ·w`, `w ← w − η·(Nesterov ? g + λ·w + μ·v : v)`, `g ← 0`, elementwise.
#[inline(always)]
fn momentum_kernel<T: Scalar>(w: &mut [T], g: &mut [T], v: &mut [T], k: &MomentumStep<T>) {
    let MomentumStep {
        lr,
        mu,
        decay,
        nesterov,
    } = *k;
    for ((w, g), v) in w.iter_mut().zip(g.iter_mut()).zip(v.iter_mut()) {
        let grad = *g + decay * *w;
        *v = mu * *v + grad;
        let direction = if nesterov { grad + mu * *v } else { *v };
        *w -= lr * direction;
        *g = T::zero();
    }
}

simd::multiversion! {
    /// [`momentum_kernel`], compiled for the CPU's vector width.
    fn momentum_update[T: Scalar](w: &mut [T], g: &mut [T], v: &mut [T], k: &MomentumStep<T>) = momentum_kernel;
}

/// The constants of one Adam update (bias corrections folded into `step` and `eps`).
#[derive(Clone, Copy)]
struct AdamStep<T> {
    b1: T,
    b2: T,
    c1: T,
    c2: T,
    step: T,
    eps: T,
    decay: T,
}

/// `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`, `w ← w − step·m/(√v + ε)`, `g ← 0`,
/// elementwise (with `g + λ·w` for `g`).
#[inline(always)]
fn adam_kernel<T: Scalar>(w: &mut [T], g: &mut [T], m: &mut [T], v: &mut [T], k: &AdamStep<T>) {
    let AdamStep {
        b1,
        b2,
        c1,
        c2,
        step,
        eps,
        decay,
    } = *k;
    for (((w, g), m), v) in w.iter_mut().zip(g.iter_mut()).zip(m).zip(v) {
        let grad = *g + decay * *w;
        *m = b1 * *m + c1 * grad;
        *v = b2 * *v + c2 * grad * grad;
        *w -= step * *m / (v.sqrt() + eps);
        *g = T::zero();
    }
}

simd::multiversion! {
    /// [`adam_kernel`], compiled for the CPU's vector width: its square roots and divisions
    /// are most of an Adam step's time.
    fn adam_update[T: Scalar](w: &mut [T], g: &mut [T], m: &mut [T], v: &mut [T], k: &AdamStep<T>) = adam_kernel;
}

/// Updates parameters from their accumulated gradients.
pub trait Optimizer<T: Scalar> {
    /// Called once at the start of every step, before the first [`Optimizer::update`].
    fn begin_step(&mut self) {}

    /// Updates one parameter tensor from its gradient and sets the gradient to zero.
    /// `slot` numbers the tensors of a network in visiting order, the same at every step.
    fn update(&mut self, slot: usize, param: ParamMut<'_, T>);

    /// The current learning rate.
    fn learning_rate(&self) -> f64;

    /// Changes the learning rate (for schedules).
    ///
    /// # Errors
    /// [`Error::InvalidLearningRate`] unless `lr` is finite and greater than zero.
    fn set_learning_rate(&mut self, lr: f64) -> Result<(), Error>;

    /// The L2 weight-decay coefficient λ it applies to weights (0 for none), so that the
    /// penalty `½·λ·Σw²` can be reported beside the loss.
    fn weight_decay(&self) -> f64 {
        0.0
    }

    /// Forgets the state kept per tensor (momentum, moments, step count), as if new.
    fn reset(&mut self) {}

    /// One step on `net`: updates every parameter from its accumulated gradient and resets
    /// the gradients to zero.
    #[inline]
    fn step<N: Layer<T, I, O>, const I: usize, const O: usize>(&mut self, net: &mut N)
    where
        Self: Sized,
    {
        self.begin_step();
        let mut slot = 0;
        net.visit_params_mut(&Path::ROOT, &mut |p| {
            self.update(slot, p);
            slot += 1;
        });
    }
}

/// Optimizers whose state can be cleared without naming the scalar type: what
/// [`Trainer::restart`](crate::Trainer::restart) asks. Implemented by [`Sgd`], [`Adam`] and
/// `Box<dyn Optimizer<T>>`; for an optimizer of your own, call its
/// [`Optimizer::reset`].
pub trait Reset {
    /// Forgets the state.
    fn reset(&mut self);
}

impl<T: Scalar> Reset for Sgd<T> {
    fn reset(&mut self) {
        self.velocity.clear();
    }
}

impl<T: Scalar> Reset for Adam<T> {
    fn reset(&mut self) {
        self.t = 0;
        self.m.clear();
        self.v.clear();
    }
}

impl<T: Scalar> Reset for Box<dyn Optimizer<T> + '_> {
    fn reset(&mut self) {
        Optimizer::reset(&mut **self);
    }
}

/// A learning rate that is finite and greater than zero also in the network's scalar type
/// `T` (`1e-50` is positive as an `f64` but 0 as an `f32`, and would silently train nothing).
fn check_lr<T: Scalar>(lr: f64) -> Result<f64, Error> {
    let in_t = T::of(lr);
    if lr.is_finite() && lr > 0.0 && in_t.finite() && in_t > T::zero() {
        Ok(lr)
    } else {
        Err(Error::InvalidLearningRate { value: lr })
    }
}

fn check_range(
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

/// How much state an optimizer holds, for `Debug`: tensors and values, not the values.
fn state_size<T>(states: &[Vec<T>]) -> String {
    let values: usize = states.iter().map(Vec::len).sum();
    format!("{} tensors, {values} values", states.len())
}

impl<T: Scalar> fmt::Debug for Sgd<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sgd")
            .field("lr", &self.lr)
            .field("momentum", &self.momentum)
            .field("nesterov", &self.nesterov)
            .field("weight_decay", &self.weight_decay)
            .field("velocity", &format_args!("{}", state_size(&self.velocity)))
            .finish()
    }
}

impl<T: Scalar> fmt::Debug for Adam<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Adam")
            .field("lr", &self.lr)
            .field("betas", &(self.beta1, self.beta2))
            .field("eps", &self.eps)
            .field("weight_decay", &self.weight_decay)
            .field("steps", &self.t)
            .field("moments", &format_args!("2 × {}", state_size(&self.m)))
            .finish()
    }
}

/// The state buffer of `slot`, zero-filled and of `len` values; allocated on first use.
fn state<T: Scalar>(states: &mut Vec<Vec<T>>, slot: usize, len: usize) -> &mut [T] {
    if states.len() <= slot {
        states.resize_with(slot + 1, Vec::new);
    }
    let s = &mut states[slot];
    if s.len() != len {
        *s = vec![T::zero(); len];
    }
    s
}

/// Stochastic gradient descent, optionally with momentum (heavy-ball or Nesterov) and L2
/// weight decay:
///
/// `g ← ∇ + λ·w` (weights only), `v ← μ·v + g`, `w ← w − η·(Nesterov ? g + μ·v : v)`;
/// with `μ = 0` this is `w ← w − η·g`. The same update as PyTorch's `optim.SGD`
/// (`dampening = 0`).
///
/// # Example
/// ```
/// use constnet::Sgd;
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
    velocity: Vec<Vec<T>>,
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
            velocity: Vec::new(),
        })
    }

    /// The current learning rate (as [`Optimizer::learning_rate`], callable without naming
    /// the network's scalar type).
    pub fn learning_rate(&self) -> f64 {
        self.lr
    }

    /// Changes the learning rate (as [`Optimizer::set_learning_rate`]).
    ///
    /// # Errors
    /// [`Error::InvalidLearningRate`] unless `lr` is finite and greater than zero in `T`.
    pub fn set_learning_rate(&mut self, lr: f64) -> Result<(), Error> {
        self.lr = check_lr::<T>(lr)?;
        Ok(())
    }

    /// Sets the momentum `μ` (0.9 is usual).
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] unless `0 ≤ μ < 1`.
    pub fn momentum(mut self, momentum: f64) -> Result<Self, Error> {
        let ok = (0.0..1.0).contains(&momentum);
        self.momentum = check_range("momentum", momentum, ok, "in [0, 1)")?;
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
    #[inline]
    fn update(&mut self, slot: usize, p: ParamMut<'_, T>) {
        let lr = T::of(self.lr);
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
            return;
        }
        let mu = T::of(self.momentum);
        let nesterov = self.nesterov;
        let velocity = state(T::same_mut(&mut self.velocity), slot, p.value.len());
        let k = MomentumStep {
            lr,
            mu,
            decay,
            nesterov,
        };
        for_parts(p.value, p.grad, velocity, &mut [], &|w, g, v, _| {
            momentum_update(w, g, v, &k);
        });
    }

    fn learning_rate(&self) -> f64 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f64) -> Result<(), Error> {
        self.lr = check_lr::<T>(lr)?;
        Ok(())
    }

    fn weight_decay(&self) -> f64 {
        self.weight_decay
    }

    fn reset(&mut self) {
        Reset::reset(self);
    }
}

/// Adam (Kingma & Ba, 2015) with optional L2 weight decay added to the gradient:
///
/// `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`,
/// `w ← w − η·m̂ / (√v̂ + ε)` with `m̂ = m/(1−β₁ᵗ)`, `v̂ = v/(1−β₂ᵗ)`.
/// Defaults `β₁ = 0.9`, `β₂ = 0.999`, `ε = 10⁻⁸`, as PyTorch's `optim.Adam`.
///
/// # Example
/// ```
/// use constnet::Adam;
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
    t: i32,
    m: Vec<Vec<T>>,
    v: Vec<Vec<T>>,
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
            t: 0,
            m: Vec::new(),
            v: Vec::new(),
        })
    }

    /// The current learning rate (as [`Optimizer::learning_rate`], callable without naming
    /// the network's scalar type).
    pub fn learning_rate(&self) -> f64 {
        self.lr
    }

    /// Changes the learning rate (as [`Optimizer::set_learning_rate`]).
    ///
    /// # Errors
    /// [`Error::InvalidLearningRate`] unless `lr` is finite and greater than zero in `T`.
    pub fn set_learning_rate(&mut self, lr: f64) -> Result<(), Error> {
        self.lr = check_lr::<T>(lr)?;
        Ok(())
    }

    /// Starts a step (as [`Optimizer::begin_step`]): counts it for the bias corrections.
    pub fn begin_step(&mut self) {
        self.t = self.t.saturating_add(1);
    }

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

    /// Sets the L2 weight decay `λ` (applied to weights, not biases).
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] unless `λ` is finite and `≥ 0`.
    pub fn weight_decay(mut self, lambda: f64) -> Result<Self, Error> {
        self.weight_decay = check_range("weight decay", lambda, lambda >= 0.0, "≥ 0")?;
        Ok(self)
    }
}

/// For parameters of the optimizer's own scalar type only (see [`Sgd`]'s impl).
impl<T: SameScalar<U>, U: Scalar> Optimizer<T> for Adam<U> {
    fn begin_step(&mut self) {
        self.t = self.t.saturating_add(1);
    }

    fn update(&mut self, slot: usize, p: ParamMut<'_, T>) {
        let t = self.t.max(1);
        // Step size with both bias corrections folded in, as in Algorithm 1 of the paper.
        let step = self.lr * (1.0 - self.beta2.powi(t)).sqrt() / (1.0 - self.beta1.powi(t));
        let eps = self.eps * (1.0 - self.beta2.powi(t)).sqrt();
        let (b1, b2) = (T::of(self.beta1), T::of(self.beta2));
        let (c1, c2) = (T::one() - b1, T::one() - b2);
        let (step, eps) = (T::of(step), T::of(eps));
        let decay = if p.decay {
            T::of(self.weight_decay)
        } else {
            T::zero()
        };
        let len = p.value.len();
        let m = state(T::same_mut(&mut self.m), slot, len);
        let v = state(T::same_mut(&mut self.v), slot, len);
        let k = AdamStep {
            b1,
            b2,
            c1,
            c2,
            step,
            eps,
            decay,
        };
        for_parts(p.value, p.grad, m, v, &|w, g, m, v| {
            adam_update(w, g, m, v, &k)
        });
    }

    fn learning_rate(&self) -> f64 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f64) -> Result<(), Error> {
        self.lr = check_lr::<T>(lr)?;
        Ok(())
    }

    fn weight_decay(&self) -> f64 {
        self.weight_decay
    }

    fn reset(&mut self) {
        Reset::reset(self);
    }
}

/// An optimizer chosen at run time: `Box<dyn Optimizer<T>>` works wherever an optimizer does.
///
/// # Example
/// ```
/// use constnet::{Adam, Optimizer, Sgd};
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
    fn update(&mut self, slot: usize, param: ParamMut<'_, T>) {
        (**self).update(slot, param);
    }
    fn learning_rate(&self) -> f64 {
        (**self).learning_rate()
    }
    fn set_learning_rate(&mut self, lr: f64) -> Result<(), crate::Error> {
        (**self).set_learning_rate(lr)
    }
    fn weight_decay(&self) -> f64 {
        (**self).weight_decay()
    }
    fn reset(&mut self) {
        (**self).reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::param::Shape;

    /// Values spread over many magnitudes and signs, from a fixed seed.
    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let unit = (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
                unit * 10f32.powi((x >> 20) as i32 % 7 - 4)
            })
            .collect()
    }

    /// The AVX2 build of the update loops (taken on this machine when the CPU has AVX2) gives
    /// the very bits of the baseline build, on a length that is no multiple of any width.
    #[test]
    fn vectorised_updates_match_the_baseline_bit_for_bit() {
        let n = 1003;
        let adam = AdamStep {
            b1: 0.9f32,
            b2: 0.999,
            c1: 0.1,
            c2: 0.001,
            step: 1e-3,
            eps: 1e-8,
            decay: 1e-4,
        };
        let [w, g, m, v] = [1, 2, 3, 4].map(|s| values(n, s));
        let v: Vec<f32> = v.iter().map(|x| x.abs()).collect();
        let (mut w1, mut g1, mut m1, mut v1) = (w.clone(), g.clone(), m.clone(), v.clone());
        let (mut w2, mut g2, mut m2, mut v2) = (w.clone(), g.clone(), m.clone(), v.clone());
        adam_kernel(&mut w1, &mut g1, &mut m1, &mut v1, &adam);
        adam_update(&mut w2, &mut g2, &mut m2, &mut v2, &adam);
        let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&w1), bits(&w2));
        assert_eq!((bits(&m1), bits(&v1)), (bits(&m2), bits(&v2)));
        assert!(g1.iter().chain(&g2).all(|&x| x == 0.0));
        assert_ne!(bits(&w1), bits(&w), "the update changed the weights");

        for decay in [0.0, 1e-4] {
            let (mut w1, mut g1) = (w.clone(), g.clone());
            let (mut w2, mut g2) = (w.clone(), g.clone());
            sgd_kernel(&mut w1, &mut g1, 0.01, decay);
            sgd_update(&mut w2, &mut g2, 0.01, decay);
            assert_eq!(bits(&w1), bits(&w2));
            assert!(g1.iter().chain(&g2).all(|&x| x == 0.0));
        }
        for nesterov in [false, true] {
            let k = MomentumStep {
                lr: 0.01f32,
                mu: 0.9,
                decay: 1e-4,
                nesterov,
            };
            let (mut w1, mut g1, mut v1) = (w.clone(), g.clone(), m.clone());
            let (mut w2, mut g2, mut v2) = (w.clone(), g.clone(), m.clone());
            momentum_kernel(&mut w1, &mut g1, &mut v1, &k);
            momentum_update(&mut w2, &mut g2, &mut v2, &k);
            assert_eq!((bits(&w1), bits(&v1)), (bits(&w2), bits(&v2)));
        }
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        eprintln!("AVX2 on this CPU: {}", crate::base::simd::has_avx2());
    }

    fn param<'a>(value: &'a mut [f64], grad: &'a mut [f64]) -> ParamMut<'a, f64> {
        ParamMut {
            path: &Path::ROOT,
            name: "weight",
            decay: true,
            shape: Shape::Vector(value.len()),
            value,
            grad,
        }
    }

    /// Runs `steps` updates of `f(w) = ½·w²` (gradient `w`) from `w = 1`, recording `w`.
    fn trajectory(opt: &mut impl Optimizer<f64>, steps: usize) -> Vec<f64> {
        let mut w = [1.0];
        let mut out = Vec::new();
        for _ in 0..steps {
            let mut g = [w[0]];
            opt.begin_step();
            opt.update(0, param(&mut w, &mut g));
            assert_eq!(g, [0.0], "the gradient is consumed");
            out.push(w[0]);
        }
        out
    }

    fn assert_close(a: &[f64], b: &[f64]) {
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-12, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn sgd_matches_hand_computation() {
        // w ← w − 0.1·w = 0.9·w
        assert_close(
            &trajectory(&mut Sgd::new(0.1).unwrap(), 3),
            &[0.9, 0.81, 0.729],
        );
    }

    #[test]
    fn momentum_matches_hand_computation() {
        // v1 = 1, w1 = 1 − 0.1 = 0.9; v2 = 0.5·1 + 0.9 = 1.4, w2 = 0.9 − 0.14 = 0.76
        let mut opt = Sgd::new(0.1).unwrap().momentum(0.5).unwrap();
        assert_close(&trajectory(&mut opt, 2), &[0.9, 0.76]);
        // Nesterov: d1 = 1 + 0.5·1 = 1.5, w1 = 0.85; g2 = 0.85, v2 = 0.5 + 0.85 = 1.35,
        // d2 = 0.85 + 0.675 = 1.525, w2 = 0.85 − 0.1525 = 0.6975
        let mut opt = Sgd::new(0.1).unwrap().momentum(0.5).unwrap().nesterov(true);
        assert_close(&trajectory(&mut opt, 2), &[0.85, 0.6975]);
    }

    #[test]
    fn weight_decay_applies_to_weights_only() {
        let mut opt = Sgd::new(0.1).unwrap().weight_decay(0.5).unwrap();
        let (mut w, mut g) = ([2.0], [0.0]);
        opt.update(0, param(&mut w, &mut g));
        assert_close(&w, &[2.0 - 0.1 * 0.5 * 2.0]);
        let (mut b, mut g) = ([2.0], [0.0]);
        opt.update(
            1,
            ParamMut {
                path: &Path::ROOT,
                name: "bias",
                decay: false,
                shape: Shape::Vector(1),
                value: &mut b,
                grad: &mut g,
            },
        );
        assert_eq!(b, [2.0]);
    }

    #[test]
    fn adam_first_steps_match_the_paper() {
        // With bias correction the first step is −η·sign(g) (up to ε), whatever |g|.
        let mut opt = Adam::new(0.01).unwrap();
        let w = trajectory(&mut opt, 1);
        assert!((w[0] - 0.99).abs() < 1e-9, "{w:?}");
        // Second step, worked by hand: g = 0.99, m = 0.09 + 0.099 = 0.189,
        // v = 0.000999 + 0.001·0.9801 = 0.0019791; m̂ = 0.189/0.19, v̂ = 0.0019791/0.001999.
        let mut opt = Adam::new(0.01).unwrap();
        let w = trajectory(&mut opt, 2);
        let m_hat = 0.189 / 0.19;
        let v_hat: f64 = 0.0019791 / (1.0 - 0.999_f64.powi(2));
        assert!((w[1] - (0.99 - 0.01 * m_hat / (v_hat.sqrt() + 1e-8))).abs() < 1e-9);
    }

    #[test]
    fn invalid_hyperparameters_are_errors() {
        for lr in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                Sgd::<f32>::new(lr),
                Err(Error::InvalidLearningRate { .. })
            ));
            assert!(matches!(
                Adam::<f32>::new(lr),
                Err(Error::InvalidLearningRate { .. })
            ));
        }
        let sgd = Sgd::<f32>::new(0.1).unwrap();
        assert!(matches!(
            sgd.clone().momentum(1.0),
            Err(Error::InvalidHyperparameter {
                name: "momentum",
                ..
            })
        ));
        assert!(sgd.clone().weight_decay(-1.0).is_err());
        let adam = Adam::<f32>::new(0.1).unwrap();
        assert!(adam.clone().betas(0.9, 1.0).is_err());
        assert!(adam.clone().eps(0.0).is_err());
        let mut adam = adam;
        assert!(adam.set_learning_rate(-0.5).is_err());
        assert!(adam.set_learning_rate(0.5).is_ok());
        assert_eq!(adam.learning_rate(), 0.5);
    }

    #[test]
    fn adam_weight_decay_is_added_to_the_gradient_of_weights_only() {
        // w = 2 with no loss gradient: g = λ·w = 1, and Adam's first step is −η·sign(g).
        let mut opt = Adam::new(0.01).unwrap().weight_decay(0.5).unwrap();
        let (mut w, mut g) = ([2.0], [0.0]);
        opt.begin_step();
        opt.update(0, param(&mut w, &mut g));
        assert!((w[0] - 1.99).abs() < 1e-9, "{w:?}");
        // Second step by hand: g = 0.995, m = 0.09 + 0.0995, v = 0.000999 + 0.001·0.995².
        let (m, v) = (0.1895, 0.000999 + 0.001 * 0.995_f64.powi(2));
        let (m_hat, v_hat) = (m / 0.19, v / (1.0 - 0.999_f64.powi(2)));
        opt.begin_step();
        opt.update(0, param(&mut w, &mut g));
        assert!((w[0] - (1.99 - 0.01 * m_hat / (v_hat.sqrt() + 1e-8))).abs() < 1e-9);
        // A bias with no gradient does not move.
        let (mut b, mut gb) = ([2.0], [0.0]);
        let bias = ParamMut {
            path: &Path::ROOT,
            name: "bias",
            decay: false,
            shape: Shape::Vector(1),
            value: &mut b,
            grad: &mut gb,
        };
        opt.update(1, bias);
        assert_eq!(b, [2.0]);
    }
}
