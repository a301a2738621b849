//! Test helpers: random layers and f64 central-difference gradient checks.

use nalgebra::SVector;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::{Batch, Init, Layer, Linear, Loss};

const H: f64 = 1e-5;
const TOLERANCE: f64 = 1e-6;

fn assert_close(what: &str, analytic: f64, numeric: f64) {
    let err = (analytic - numeric).abs() / numeric.abs().max(1.0);
    assert!(
        err < TOLERANCE,
        "{what}: analytic {analytic} vs numeric {numeric}"
    );
}

fn random_values(rng: &mut StdRng, values: &mut [f64]) {
    for v in values {
        *v = rng.random_range(-1.5..1.5);
    }
}

/// A `Linear` layer with random weights and a random bias.
pub(crate) fn random_linear<const I: usize, const O: usize>(seed: u64) -> Linear<I, O, f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut layer = Linear::<I, O, f64>::new(Init::XavierNormal, &mut rng);
    random_values(&mut rng, layer.bias_mut().as_mut_slice());
    layer
}

fn param_grads<L: Layer<f64, I, O>, const I: usize, const O: usize>(
    layer: &mut L,
) -> Vec<Vec<f64>> {
    let mut grads = Vec::new();
    layer.visit_params_mut(0, &mut |p| grads.push(p.grad.to_vec()));
    grads
}

fn nudge<L: Layer<f64, I, O>, const I: usize, const O: usize>(
    layer: &mut L,
    slot: usize,
    k: usize,
    delta: f64,
) {
    let mut s = 0;
    layer.visit_params_mut(0, &mut |p| {
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
    nudge(layer, slot, k, H);
    let plus = f(layer);
    nudge(layer, slot, k, -2.0 * H);
    let minus = f(layer);
    nudge(layer, slot, k, H);
    (plus - minus) / (2.0 * H)
}

/// Checks the input and parameter gradients of `layer`, one sample and a minibatch of
/// `batch`, against central differences of `L = Σ r ⊙ layer(x)` for random `x` and `r`.
pub(crate) fn check_layer_gradients<L: Layer<f64, I, O>, const I: usize, const O: usize>(
    mut layer: L,
    batch: usize,
) {
    let mut rng = StdRng::seed_from_u64(I as u64 * 1000 + O as u64);

    // One sample.
    let mut x = SVector::<f64, I>::zeros();
    let mut r = SVector::<f64, O>::zeros();
    random_values(&mut rng, x.as_mut_slice());
    random_values(&mut rng, r.as_mut_slice());
    layer.zero_grad();
    let mut tape = L::Tape::default();
    let y = layer.forward_tape(&x, &mut tape);
    let dx = layer.backward(&x, &y, &r, &tape);
    let grads = param_grads(&mut layer);
    let f = |l: &L, x: &SVector<f64, I>| r.dot(&l.forward(x));
    for i in 0..I {
        let mut e = SVector::<f64, I>::zeros();
        e[i] = H;
        let numeric = (f(&layer, &(x + e)) - f(&layer, &(x - e))) / (2.0 * H);
        assert_close(&format!("one sample, ∂L/∂x[{i}]"), dx[i], numeric);
    }
    for (slot, g) in grads.iter().enumerate() {
        for (k, &analytic) in g.iter().enumerate() {
            let numeric = numeric_param(&mut layer, slot, k, |l| f(l, &x));
            assert_close(&format!("one sample, param {slot}[{k}]"), analytic, numeric);
        }
    }

    // A minibatch.
    let mut xb = Batch::<f64, I>::zeros(batch);
    let mut rb = Batch::<f64, O>::zeros(batch);
    random_values(&mut rng, xb.as_mut_slice());
    random_values(&mut rng, rb.as_mut_slice());
    layer.zero_grad();
    let mut tape = L::BatchTape::default();
    let mut yb = Batch::zeros(0);
    layer.forward_batch(&xb, &mut yb, &mut tape);
    let mut dxb = Batch::zeros(0);
    layer.backward_batch(&xb, &yb, &rb, Some(&mut dxb), &mut tape);
    let grads = param_grads(&mut layer);
    // Without the input gradient, the parameter gradients are the same.
    layer.backward_batch(&xb, &yb, &rb, None, &mut tape);
    let doubled = param_grads(&mut layer);
    for (g, d) in grads.iter().flatten().zip(doubled.iter().flatten()) {
        assert_close("backward without input gradient", 2.0 * g, *d);
    }
    // Each column of the batch forward equals the one-sample forward.
    for j in 0..batch {
        let single = layer.forward(&xb.column(j).into_owned());
        for o in 0..O {
            assert_close("batch forward vs one sample", yb[(o, j)], single[o]);
        }
    }
    let fb = |l: &L, x: &Batch<f64, I>| rb.dot(&l.predict_batch(x));
    for i in 0..I * batch {
        let mut plus = xb.clone();
        plus.as_mut_slice()[i] += H;
        let mut minus = xb.clone();
        minus.as_mut_slice()[i] -= H;
        let numeric = (fb(&layer, &plus) - fb(&layer, &minus)) / (2.0 * H);
        assert_close(&format!("batch, ∂L/∂X[{i}]"), dxb.as_slice()[i], numeric);
    }
    for (slot, g) in grads.iter().enumerate() {
        for (k, &analytic) in g.iter().enumerate() {
            let numeric = numeric_param(&mut layer, slot, k, |l| fb(l, &xb));
            assert_close(&format!("batch, param {slot}[{k}]"), analytic, numeric);
        }
    }
}

/// Checks `loss.sample`'s gradient against central differences at a random output
/// (with components in (0.05, 1) when `positive`, e.g. for probabilities).
pub(crate) fn check_loss_gradient<L: Loss<f64, O>, const O: usize>(
    loss: &L,
    target: &L::Target,
    positive: bool,
    seed: u64,
) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut y = SVector::<f64, O>::zeros();
    for v in y.as_mut_slice() {
        *v = if positive {
            rng.random_range(0.05..1.0)
        } else {
            rng.random_range(-3.0..3.0)
        };
    }
    let mut grad = SVector::zeros();
    let value = loss.sample(&y, target, &mut grad);
    assert!(value.is_finite());
    let mut scratch = SVector::zeros();
    for i in 0..O {
        let mut e = SVector::<f64, O>::zeros();
        e[i] = H;
        let numeric = (loss.sample(&(y + e), target, &mut scratch)
            - loss.sample(&(y - e), target, &mut scratch))
            / (2.0 * H);
        assert_close(&format!("∂loss/∂y[{i}]"), grad[i], numeric);
    }
}
