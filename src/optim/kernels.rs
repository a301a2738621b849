//! The update loops of the optimizers: elementwise kernels, each compiled for the CPU's
//! vector width, and [`for_parts`], which shares a large tensor's update between threads.

use crate::base::disjoint::DisjointParts;
use crate::base::scalar::Scalar;
use crate::base::simd;
use crate::base::threads::{current_threads, run_parts};
#[allow(unused_imports)]
use num_traits::Float as _;

/// Tensors from which an update is shared between the threads of
/// [`with_threads`](crate::base::threads::with_threads): each thread then updates the part of the weights
/// whose gradient it computed, in its own cache.
const SPLIT_LEN: usize = 1 << 15;

/// An elementwise update of matching parts of a parameter, its gradient and two state buffers.
type PartUpdate<'a, T> = dyn Fn(&mut [T], &mut [T], &mut [T], &mut [T]) + Sync + 'a;

/// Calls `update(w, g, s1, s2)` on matching parts of the parameter, its gradient and up to
/// two state buffers (empty slices when absent), on several threads for large tensors.
/// Elementwise updates give the same values however the tensor is split.
pub(super) fn for_parts<T: Scalar>(
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
pub(super) const SMALL: usize = 512;

/// `w ← w − η·(g + λ·w)`, `g ← 0`, elementwise (plain SGD; `λ·w` only when `λ ≠ 0`).
#[inline(always)]
pub(super) fn sgd_kernel<T: Scalar>(w: &mut [T], g: &mut [T], lr: T, decay: T) {
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
    pub(super) fn sgd_update[T: Scalar](w: &mut [T], g: &mut [T], lr: T, decay: T) = sgd_kernel;
}

/// The constants of one SGD-with-momentum update.
#[derive(Clone, Copy)]
pub(super) struct MomentumStep<T> {
    pub(super) lr: T,
    pub(super) mu: T,
    pub(super) decay: T,
    pub(super) nesterov: bool,
}

/// `v ← μ·v + g + λ·w`, `w ← w − η·(Nesterov ? g + λ·w + μ·v : v)`, `g ← 0`, elementwise.
#[inline(always)]
pub(super) fn momentum_kernel<T: Scalar>(
    w: &mut [T],
    g: &mut [T],
    v: &mut [T],
    k: &MomentumStep<T>,
) {
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
    pub(super) fn momentum_update[T: Scalar](w: &mut [T], g: &mut [T], v: &mut [T], k: &MomentumStep<T>) = momentum_kernel;
}

/// The constants of one Adam update (bias corrections folded into `step` and `eps`).
#[derive(Clone, Copy)]
pub(super) struct AdamStep<T> {
    pub(super) b1: T,
    pub(super) b2: T,
    pub(super) c1: T,
    pub(super) c2: T,
    pub(super) step: T,
    pub(super) eps: T,
    pub(super) decay: T,
}

/// `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`, `w ← w − step·m/(√v + ε)`, `g ← 0`,
/// elementwise (with `g + λ·w` for `g`).
#[inline(always)]
pub(super) fn adam_kernel<T: Scalar>(
    w: &mut [T],
    g: &mut [T],
    m: &mut [T],
    v: &mut [T],
    k: &AdamStep<T>,
) {
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
    pub(super) fn adam_update[T: Scalar](w: &mut [T], g: &mut [T], m: &mut [T], v: &mut [T], k: &AdamStep<T>) = adam_kernel;
}

/// The constants of one AdamW update.
#[derive(Clone, Copy)]
pub(super) struct AdamWStep<T> {
    /// `1 − η·λ` for decayed weights, 1 otherwise.
    pub(super) shrink: T,
    pub(super) b2: T,
    pub(super) c1: T,
    pub(super) c2: T,
    /// `η/(1 − β₁ᵗ)`.
    pub(super) step: T,
    /// `√(1 − β₂ᵗ)`.
    pub(super) root_c2: T,
    pub(super) eps: T,
}

/// PyTorch's AdamW, in its order of operations: `w ← w·shrink`, `m ← m + (1−β₁)(g − m)`,
/// `v ← β₂v + (1−β₂)g²`, `w ← w − step·(m / (√v/√(1−β₂ᵗ) + ε))`, `g ← 0`, elementwise.
#[inline(always)]
pub(super) fn adamw_kernel<T: Scalar>(
    w: &mut [T],
    g: &mut [T],
    m: &mut [T],
    v: &mut [T],
    k: &AdamWStep<T>,
) {
    let AdamWStep {
        shrink,
        b2,
        c1,
        c2,
        step,
        root_c2,
        eps,
        ..
    } = *k;
    for (((w, g), m), v) in w.iter_mut().zip(g.iter_mut()).zip(m).zip(v) {
        let grad = *g;
        *w *= shrink;
        *m += c1 * (grad - *m);
        *v = b2 * *v + c2 * grad * grad;
        *w -= step * (*m / (v.sqrt() / root_c2 + eps));
        *g = T::zero();
    }
}

simd::multiversion! {
    /// [`adamw_kernel`], compiled for the CPU's vector width.
    pub(super) fn adamw_update[T: Scalar](w: &mut [T], g: &mut [T], m: &mut [T], v: &mut [T], k: &AdamWStep<T>) = adamw_kernel;
}

/// The constants of one RMSprop update.
#[derive(Clone, Copy)]
pub(super) struct RmsPropStep<T> {
    pub(super) lr: T,
    pub(super) alpha: T,
    /// `1 − α`.
    pub(super) c: T,
    pub(super) eps: T,
    pub(super) mu: T,
    pub(super) decay: T,
}

/// PyTorch's RMSprop, elementwise: `g ← g + λ·w`, `s ← α·s + (1−α)·g²`; centred (when
/// `a` is not empty) `a ← a + (1−α)(g − a)`, `d = √(s − a²) + ε`, else `d = √s + ε`; with
/// momentum (when `b` is not empty) `b ← μ·b + g/d`, `w ← w − η·b`, else `w ← w − η·(g/d)`;
/// `grad ← 0`.
#[inline(always)]
pub(super) fn rmsprop_kernel<T: Scalar>(
    w: &mut [T],
    grad: &mut [T],
    s: &mut [T],
    b: &mut [T],
    a: &mut [T],
    k: &RmsPropStep<T>,
) {
    let RmsPropStep {
        lr,
        alpha,
        c,
        eps,
        mu,
        decay,
    } = *k;
    let (momentum, centered) = (!b.is_empty(), !a.is_empty());
    for i in 0..w.len() {
        let g = grad[i] + decay * w[i];
        s[i] = alpha * s[i] + c * g * g;
        let d = if centered {
            a[i] += c * (g - a[i]);
            (s[i] - a[i] * a[i]).sqrt() + eps
        } else {
            s[i].sqrt() + eps
        };
        if momentum {
            b[i] = mu * b[i] + g / d;
            w[i] -= lr * b[i];
        } else {
            w[i] -= lr * (g / d);
        }
        grad[i] = T::zero();
    }
}

simd::multiversion! {
    /// [`rmsprop_kernel`], compiled for the CPU's vector width.
    pub(super) fn rmsprop_update[T: Scalar](w: &mut [T], grad: &mut [T], s: &mut [T], b: &mut [T], a: &mut [T], k: &RmsPropStep<T>) = rmsprop_kernel;
}
