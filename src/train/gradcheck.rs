//! Gradient checks: a layer's or a loss's analytic gradients against central differences,
//! in `f64`, for your own tests.
//!
//! A layer passes [`check_layer`] when, for random inputs `x` and a random upstream gradient
//! `r`, its backward pass gives the input and parameter gradients of `L = Σ r ⊙ layer(x)`
//! that central differences `(L(θ + h) − L(θ − h)) / 2h` measure, for one sample and for a
//! minibatch; when its minibatch forward pass agrees with its one-sample forward pass; and
//! when its parameter gradients do not depend on whether the input gradient was asked for.
//!
//! # Example
//! ```
//! use constnet::train::gradcheck::{check_layer, check_loss};
//! use constnet::nn::{Init, Layer, Linear, Mse, Tanh};
//! use constnet::nalgebra::SVector;
//! use constnet::rand::{SeedableRng, rngs::StdRng};
//!
//! let mut rng = StdRng::seed_from_u64(0);
//! let net = Linear::<3, 4, f64>::new(Init::XavierNormal, &mut rng)
//!     .then(Tanh)
//!     .then(Linear::<4, 2, f64>::new(Init::XavierNormal, &mut rng));
//! check_layer(net, 5, 42)?;
//! check_loss(&Mse, &SVector::from([0.3, -1.0]), &SVector::from([1.0, 0.5]))?;
//! # Ok::<(), constnet::Error>(())
//! ```

use nalgebra::SVector;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

pub use crate::error::GradientMismatch;
use crate::{base::linalg::Batch, error::Error, nn::layer::Layer, nn::loss::Loss};

/// The step `h` of the central differences.
pub const STEP: f64 = 1e-5;

/// The largest accepted error, relative to `max(1, |numeric|)`.
pub const TOLERANCE: f64 = 1e-6;

fn compare(what: impl FnOnce() -> String, analytic: f64, numeric: f64) -> Result<(), Error> {
    let err = (analytic - numeric).abs() / numeric.abs().max(1.0);
    if err < TOLERANCE {
        Ok(())
    } else {
        Err(Error::Gradient(GradientMismatch {
            what: what(),
            analytic,
            numeric,
        }))
    }
}

fn random_values(rng: &mut StdRng, values: &mut [f64]) {
    for v in values {
        *v = rng.random_range(-1.5..1.5);
    }
}

fn param_grads<L: Layer<f64, I, O>, const I: usize, const O: usize>(
    layer: &mut L,
) -> Vec<Vec<f64>> {
    let mut grads = Vec::new();
    layer.visit_params_mut(&crate::nn::param::Path::ROOT, &mut |p| {
        if p.role.is_learned() {
            grads.push(p.grad.to_vec());
        }
    });
    grads
}

fn nudge<L: Layer<f64, I, O>, const I: usize, const O: usize>(
    layer: &mut L,
    slot: usize,
    k: usize,
    delta: f64,
) {
    let mut s = 0;
    layer.visit_params_mut(&crate::nn::param::Path::ROOT, &mut |p| {
        if !p.role.is_learned() {
            return;
        }
        if s == slot {
            p.value[k] += delta;
        }
        s += 1;
    });
}

/// Central difference of `f` with respect to parameter `k` of tensor `slot`.
fn numeric_param<L: Layer<f64, I, O>, const I: usize, const O: usize>(
    layer: &mut L,
    slot: usize,
    k: usize,
    f: impl Fn(&L) -> f64,
) -> f64 {
    nudge(layer, slot, k, STEP);
    let plus = f(layer);
    nudge(layer, slot, k, -2.0 * STEP);
    let minus = f(layer);
    nudge(layer, slot, k, STEP);
    (plus - minus) / (2.0 * STEP)
}

/// Checks the input and parameter gradients of `layer`, for one sample and for a minibatch
/// of `batch` samples, against central differences of `L = Σ r ⊙ layer(x)` at inputs and
/// upstream gradients drawn uniformly from (−1.5, 1.5) with `seed`.
///
/// The check takes about `(I + parameters) · batch` forward passes: keep layers small.
/// Layers with kinks (ReLU at 0) can fail where an input lands within [`STEP`] of one.
///
/// # Errors
/// [`Error::Gradient`] with the first [`GradientMismatch`] found.
pub fn check_layer<L: Layer<f64, I, O>, const I: usize, const O: usize>(
    layer: L,
    batch: usize,
    seed: u64,
) -> Result<(), Error> {
    check(layer, batch, seed, true)
}

/// [`check_layer`] in training mode ([`Layer::set_training`]), for layers whose training
/// passes differ from evaluation, such as [`BatchNorm1d`](crate::nn::BatchNorm1d): the
/// minibatch gradients are those of the batch statistics. A minibatch's outputs then depend
/// on each other, so they are not compared with one-sample passes.
///
/// # Errors
/// [`Error::Gradient`] with the first [`GradientMismatch`] found.
///
/// # Example
/// ```
/// use constnet::{nn::BatchNorm2d, train::gradcheck::check_layer_training};
/// check_layer_training(BatchNorm2d::<2, 6, f64>::new(), 4, 1)?;
/// # Ok::<(), constnet::Error>(())
/// ```
pub fn check_layer_training<L: Layer<f64, I, O>, const I: usize, const O: usize>(
    mut layer: L,
    batch: usize,
    seed: u64,
) -> Result<(), Error> {
    layer.set_training(true);
    check(layer, batch, seed, false)
}

/// [`check_layer`]; `independent` says whether a minibatch's samples are independent of each
/// other (then each column of a batch pass must equal a one-sample pass).
fn check<L: Layer<f64, I, O>, const I: usize, const O: usize>(
    mut layer: L,
    batch: usize,
    seed: u64,
    independent: bool,
) -> Result<(), Error> {
    let mut rng = StdRng::seed_from_u64(seed);

    // One sample.
    let mut x = SVector::<f64, I>::zeros();
    let mut r = SVector::<f64, O>::zeros();
    random_values(&mut rng, x.as_mut_slice());
    random_values(&mut rng, r.as_mut_slice());
    layer.zero_grad();
    let (y, tape) = layer.forward_tape(&x);
    let dx = layer.backward(&x, &y, &r, &tape);
    let grads = param_grads(&mut layer);
    let f = |l: &L, x: &SVector<f64, I>| r.dot(&l.forward(x));
    for i in 0..I {
        let mut e = SVector::<f64, I>::zeros();
        e[i] = STEP;
        let numeric = (f(&layer, &(x + e)) - f(&layer, &(x - e))) / (2.0 * STEP);
        compare(|| format!("one sample, ∂L/∂x[{i}]"), dx[i], numeric)?;
    }
    for (slot, g) in grads.iter().enumerate() {
        for (k, &analytic) in g.iter().enumerate() {
            let numeric = numeric_param(&mut layer, slot, k, |l| f(l, &x));
            compare(
                || format!("one sample, parameter {slot}[{k}]"),
                analytic,
                numeric,
            )?;
        }
    }

    // A minibatch.
    let mut xb = Batch::<f64, I>::zeros(batch);
    let mut rb = Batch::<f64, O>::zeros(batch);
    random_values(&mut rng, xb.as_mut_slice());
    random_values(&mut rng, rb.as_mut_slice());
    layer.zero_grad();
    let mut tape = crate::nn::layer::DynTape::default();
    let mut yb = Batch::zeros(batch);
    layer.forward_batch(&xb, &mut yb, &mut tape);
    let mut dxb = Batch::zeros(batch);
    layer.backward_batch(&xb, &yb, &rb, Some(&mut dxb), &mut tape);
    let grads = param_grads(&mut layer);
    // Without the input gradient, the parameter gradients are the same (they accumulate).
    layer.backward_batch(&xb, &yb, &rb, None, &mut tape);
    let doubled = param_grads(&mut layer);
    for (g, d) in grads.iter().flatten().zip(doubled.iter().flatten()) {
        compare(|| "backward without input gradient".into(), 2.0 * g, *d)?;
    }
    // Each column of the batch forward equals the one-sample forward.
    for j in (0..batch).filter(|_| independent) {
        let single = layer.forward(&xb.column(j).into_owned());
        for o in 0..O {
            compare(
                || format!("batch forward vs one sample, output {o} of sample {j}"),
                yb[(o, j)],
                single[o],
            )?;
        }
    }
    let fb = |l: &L, x: &Batch<f64, I>| rb.dot(&l.predict_batch(x));
    for i in 0..I * batch {
        let mut plus = xb.clone();
        plus.as_mut_slice()[i] += STEP;
        let mut minus = xb.clone();
        minus.as_mut_slice()[i] -= STEP;
        let numeric = (fb(&layer, &plus) - fb(&layer, &minus)) / (2.0 * STEP);
        compare(|| format!("batch, ∂L/∂X[{i}]"), dxb.as_slice()[i], numeric)?;
    }
    for (slot, g) in grads.iter().enumerate() {
        for (k, &analytic) in g.iter().enumerate() {
            let numeric = numeric_param(&mut layer, slot, k, |l| fb(l, &xb));
            compare(
                || format!("batch, parameter {slot}[{k}]"),
                analytic,
                numeric,
            )?;
        }
    }
    Ok(())
}

/// Checks the gradient that `loss.sample` writes at output `y` against central differences.
///
/// # Errors
/// [`Error::Gradient`] with a [`GradientMismatch`] naming the first output whose derivative
/// is off, or one whose `analytic` value is the loss itself if that is not finite.
pub fn check_loss<L: Loss<f64, O>, const O: usize>(
    loss: &L,
    y: &SVector<f64, O>,
    target: &L::Target,
) -> Result<(), Error> {
    let mut grad = SVector::zeros();
    let value = loss.sample(y, target, &mut grad);
    if !value.is_finite() {
        return Err(Error::Gradient(GradientMismatch {
            what: "the loss itself is not finite".into(),
            analytic: value,
            numeric: f64::NAN,
        }));
    }
    let mut scratch = SVector::zeros();
    for i in 0..O {
        let mut e = SVector::<f64, O>::zeros();
        e[i] = STEP;
        let numeric = (loss.sample(&(y + e), target, &mut scratch)
            - loss.sample(&(y - e), target, &mut scratch))
            / (2.0 * STEP);
        compare(|| format!("∂loss/∂y[{i}]"), grad[i], numeric)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::random_linear;
    use crate::{
        nn::layer::Layer, nn::layers::Relu, nn::layers::Sigmoid, nn::layers::Softmax,
        nn::layers::Tanh, nn::loss::Mse,
    };

    /// Backpropagation through several layers, one sample and minibatch: the whole chain,
    /// not only its parts.
    #[test]
    fn a_whole_chain_passes() {
        let net = random_linear::<4, 6>(1)
            .then(Tanh)
            .then(random_linear::<6, 5>(2))
            .then(Sigmoid)
            .then(random_linear::<5, 3>(3))
            .then(Softmax);
        check_layer(net, 4, 7).unwrap();
        let relu_net = random_linear::<3, 8>(4)
            .then(Relu)
            .then(random_linear::<8, 2>(5));
        check_layer(relu_net, 3, 8).unwrap();
    }

    /// The check can fail: a layer whose backward pass is off by a factor is caught.
    #[test]
    fn a_wrong_backward_pass_is_caught() {
        #[derive(Clone)]
        struct Doubler;
        impl crate::nn::takes::Takes<2> for Doubler {}
        impl Layer<f64, 2, 2> for Doubler {
            type Tape = ();
            crate::params! { scalar f64; }
            fn forward_tape(&self, x: &SVector<f64, 2>) -> (SVector<f64, 2>, ()) {
                (x * 2.0, ())
            }
            fn backward(
                &mut self,
                _: &SVector<f64, 2>,
                _: &SVector<f64, 2>,
                dy: &SVector<f64, 2>,
                _: &(),
            ) -> SVector<f64, 2> {
                dy * 3.0 // wrong: should be 2
            }
        }
        let err = check_layer(Doubler, 2, 0).unwrap_err();
        let Error::Gradient(mismatch) = &err else {
            panic!("not a gradient mismatch: {err}")
        };
        assert!(mismatch.what.starts_with("one sample, ∂L/∂x"), "{err}");
        assert!(check_loss(&Mse, &SVector::from([f64::NAN]), &SVector::from([0.0])).is_err());
    }
}
