//! Test helpers: random layers, and the gradient checks of [`crate::train::gradcheck`] as
//! assertions.

use nalgebra::SVector;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::train::gradcheck::{check_layer, check_loss};
use crate::{nn::init::Init, nn::layer::Layer, nn::layers::Linear, nn::loss::Loss};

/// A `Linear` layer with random weights and a random bias.
pub(crate) fn random_linear<const I: usize, const O: usize>(seed: u64) -> Linear<I, O, f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut layer = Linear::<I, O, f64>::new(Init::XavierNormal, &mut rng);
    for v in layer.bias_mut().as_mut_slice() {
        *v = rng.random_range(-1.5..1.5);
    }
    layer
}

/// Asserts that `layer` passes [`check_layer`] with a minibatch of `batch`.
pub(crate) fn check_layer_gradients<L: Layer<f64, I, O>, const I: usize, const O: usize>(
    layer: L,
    batch: usize,
) {
    if let Err(e) = check_layer(layer, batch, I as u64 * 1000 + O as u64) {
        panic!("{e}");
    }
}

/// Asserts that `loss` passes [`check_loss`] at a random output (with components in
/// (0.05, 1) when `positive`, e.g. for probabilities).
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
    if let Err(e) = check_loss(loss, &y, target) {
        panic!("{e}");
    }
}
