//! Gradient clipping ([`Clip`]): by the global norm or by value, applied to the accumulated
//! gradients of a minibatch before the optimizer step.

use crate::nn::param::Path;
use crate::{base::scalar::Scalar, error::Error, nn::layer::Layer};
#[allow(unused_imports)]
use num_traits::Float as _;

/// How to clip the gradients of a minibatch step before the optimizer uses them: PyTorch's
/// `clip_grad_norm_` and `clip_grad_value_`. Set it with
/// [`Trainer::clip`](crate::train::Trainer::clip) or [`Workspace::set_clip`](crate::train::Workspace::set_clip).
/// Only learned parameters are clipped (not buffers such as running statistics).
///
/// # Example
/// ```
/// use constnet::{nn::{Layer, Linear}, train::Clip};
/// use constnet::nalgebra::SVector;
///
/// let mut net = Linear::<2, 1, f64>::zeros();
/// let (y, ()) = net.forward_tape(&SVector::from([3.0, 4.0]));
/// net.backward(&SVector::from([3.0, 4.0]), &y, &SVector::from([1.0]), &());
/// // Gradients: weight [3, 4], bias [1]; global norm √26.
/// let (norm, clipped) = Clip::Norm(1.0).apply(&mut net);
/// assert!((norm - 26f64.sqrt()).abs() < 1e-12 && clipped);
/// assert!((Clip::Norm(1.0).apply(&mut net).0 - 1.0).abs() < 1e-5); // now of norm ≈ 1
/// # Ok::<(), constnet::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Clip {
    /// Scales every gradient by `max / (‖g‖ + 10⁻⁶)` when the global L2 norm `‖g‖` of all
    /// the gradients together exceeds `max`.
    Norm(f64),
    /// Clamps every gradient value into `[−v, v]`.
    Value(f64),
}

impl Clip {
    /// The setting, if its number is finite and greater than zero.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] otherwise.
    pub fn check(self) -> Result<Clip, Error> {
        let (name, value) = match self {
            Clip::Norm(max) => ("gradient clipping norm", max),
            Clip::Value(v) => ("gradient clipping value", v),
        };
        if value.is_finite() && value > 0.0 {
            Ok(self)
        } else {
            Err(Error::InvalidHyperparameter {
                name,
                value,
                expected: "> 0",
            })
        }
    }

    /// Clips the gradients accumulated in `net` and returns their global L2 norm before
    /// clipping (summed in `f64`) and whether clipping changed them.
    pub fn apply<T: Scalar, N: Layer<T, I, O> + ?Sized, const I: usize, const O: usize>(
        self,
        net: &mut N,
    ) -> (f64, bool) {
        let mut sum = 0.0;
        net.visit_params_mut(&Path::ROOT, &mut |p| {
            if p.role.is_learned() {
                sum += p.grad.iter().map(|g| g.as_f64() * g.as_f64()).sum::<f64>();
            }
        });
        let norm = sum.sqrt();
        let clipped = match self {
            Clip::Norm(max) => {
                let coefficient = max / (norm + 1e-6);
                if coefficient < 1.0 {
                    let c = T::of(coefficient);
                    net.visit_params_mut(&Path::ROOT, &mut |p| {
                        p.grad.iter_mut().for_each(|g| *g *= c);
                    });
                }
                coefficient < 1.0
            }
            Clip::Value(v) => {
                let (hi, lo) = (T::of(v), T::of(-v));
                let mut clipped = false;
                net.visit_params_mut(&Path::ROOT, &mut |p| {
                    for g in p.grad.iter_mut() {
                        if *g > hi || *g < lo {
                            *g = if *g > hi { hi } else { lo };
                            clipped = true;
                        }
                    }
                });
                clipped
            }
        };
        (norm, clipped)
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use crate::nn::layers::{BatchNorm1d, Linear};
    use crate::optim::Sgd;
    use crate::train::Workspace;
    use crate::{base::linalg::Batch, nn::loss::Mse, seq};

    fn grads<N: Layer<f64, I, O>, const I: usize, const O: usize>(net: &mut N) -> Vec<f64> {
        let mut out = Vec::new();
        net.visit_params_mut(&Path::ROOT, &mut |p| out.extend_from_slice(p.grad));
        out
    }

    fn with_grads(values: &[f64]) -> Linear<2, 2, f64> {
        let mut net = Linear::<2, 2, f64>::zeros();
        let mut at = 0;
        net.visit_params_mut(&Path::ROOT, &mut |p| {
            let n = p.grad.len();
            p.grad.copy_from_slice(&values[at..at + n]);
            at += n;
        });
        net
    }

    #[test]
    fn clipping_by_norm_scales_all_gradients_together() {
        // weight [3, 0, 0, 4] (column-major), bias [0, 0]: norm 5.
        let mut net = with_grads(&[3.0, 0.0, 0.0, 4.0, 0.0, 0.0]);
        assert_eq!(Clip::Norm(10.0).apply(&mut net), (5.0, false));
        assert_eq!(grads(&mut net), [3.0, 0.0, 0.0, 4.0, 0.0, 0.0]);
        assert_eq!(Clip::Norm(1.0).apply(&mut net), (5.0, true));
        let c = 1.0 / (5.0 + 1e-6);
        assert_eq!(grads(&mut net), [3.0 * c, 0.0, 0.0, 4.0 * c, 0.0, 0.0]);
    }

    #[test]
    fn clipping_by_value_clamps_each_gradient() {
        let mut net = with_grads(&[3.0, -0.5, -7.0, 0.25, 1.0, -1.0]);
        let (norm, clipped) = Clip::Value(1.0).apply(&mut net);
        assert!(clipped && (norm - (9.0f64 + 0.25 + 49.0 + 0.0625 + 2.0).sqrt()).abs() < 1e-12);
        assert_eq!(grads(&mut net), [1.0, -0.5, -1.0, 0.25, 1.0, -1.0]);
    }

    /// A step of plain SGD with rate 1 after clipping to norm 0.5 moves the parameters by
    /// 0.5 (up to the 10⁻⁶ of the coefficient); running statistics are not touched.
    #[test]
    fn a_workspace_clips_before_the_update() {
        let mut net = seq![Linear::<2, 3, f64>::zeros(), BatchNorm1d::<3, f64>::new()];
        let before: Vec<f64> = {
            let mut v = Vec::new();
            net.visit_params(&Path::ROOT, &mut |p| v.extend_from_slice(p.value));
            v
        };
        let mut workspace = Workspace::new();
        workspace.set_clip(Some(Clip::Norm(0.5))).unwrap();
        let x = Batch::<f64, 2>::from_column_slice(&[1.0, 2.0, -1.0, 0.5]);
        let targets = [nalgebra::SVector::from([10.0, -10.0, 5.0]); 2];
        let mut sgd = Sgd::new(1.0).unwrap();
        workspace
            .step(&mut net, &Mse, &mut sgd, &x, &targets)
            .unwrap();
        let (norm, clipped) = workspace.last_grad_norm().unwrap();
        assert!(clipped && norm > 0.5);
        let mut moved = 0.0;
        let mut at = 0;
        net.visit_params(&Path::ROOT, &mut |p| {
            for &v in p.value {
                if p.role.is_learned() {
                    moved += (v - before[at]) * (v - before[at]);
                }
                at += 1;
            }
        });
        assert!((moved.sqrt() - 0.5).abs() < 1e-6, "{}", moved.sqrt());
        assert!(workspace.set_clip(Some(Clip::Norm(0.0))).is_err());
        assert!(workspace.set_clip(Some(Clip::Value(f64::NAN))).is_err());
    }
}
