//! Loss functions, each with its gradient, averaged over a minibatch.
//!
//! | loss | network output | target |
//! |---|---|---|
//! | [`SoftmaxCrossEntropy`] | `O` logits | class label `usize < O` |
//! | [`SmoothedCrossEntropy`] (label smoothing) | `O` logits | class label `usize < O` |
//! | [`CrossEntropy`] | `O` probabilities (after [`Softmax`](crate::nn::layers::Softmax)) | class label `usize < O` |
//! | [`LogisticLoss`] | 1 logit | `T` in [0, 1] (usually 0 or 1) |
//! | [`Mse`] | `O` values | `SVector<T, O>` |
//! | [`Mae`] | `O` values | `SVector<T, O>` |

use nalgebra::SVector;

use crate::nn::layers::sigmoid;
use crate::train::metrics::argmax;
use crate::{base::linalg::Batch, base::scalar::Scalar, error::Error};

/// The mean loss of a minibatch and how many of its samples were classified correctly.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchLoss {
    /// Mean of the per-sample losses.
    pub mean: f64,
    /// Correctly classified samples (`None` for regression losses).
    pub correct: Option<usize>,
}

/// One classified sample: what [`Loss::classes`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classified {
    /// The class the output predicts.
    pub predicted: usize,
    /// The sample's class.
    pub actual: usize,
    /// How many classes there are.
    pub classes: usize,
}

/// A loss on the `O` outputs of a network for one sample, with its gradient.
///
/// The minibatch loss is the mean over samples ([`Loss::batch`]), so its gradient is the mean
/// of the per-sample gradients.
///
/// # Example
/// ```
/// use constnet::nn::{Loss, SoftmaxCrossEntropy};
/// use nalgebra::SVector;
/// let logits = SVector::<f64, 3>::from([0.0, 0.0, 0.0]);
/// let mut grad = SVector::zeros();
/// let loss = SoftmaxCrossEntropy.sample(&logits, &1, &mut grad);
/// assert!((loss - 3.0_f64.ln()).abs() < 1e-12);
/// ```
pub trait Loss<T: Scalar, const O: usize> {
    /// What a sample's target is: a class label, a value, a vector.
    type Target: Clone;

    /// The loss of one output `y` against `target`; writes ∂loss/∂y into `grad`.
    ///
    /// # Panics
    /// May panic for a target that [`Loss::check_target`] refuses (a class label `≥ O`):
    /// this low-level method trusts its caller, as the training functions
    /// ([`train_sample`](crate::train::step::train_sample), [`Workspace::step`](crate::train::step::Workspace::step),
    /// [`Trainer::fit`](crate::train::trainer::Trainer::fit)) do by checking targets first.
    fn sample(&self, y: &SVector<T, O>, target: &Self::Target, grad: &mut SVector<T, O>) -> T;

    /// Checks that the loss can take `target` (the `index`-th of its dataset).
    ///
    /// # Errors
    /// [`Error::LabelOutOfRange`] or [`Error::InvalidTarget`], naming the sample.
    fn check_target(&self, index: usize, target: &Self::Target) -> Result<(), Error>;

    /// Whether `y` classifies the sample correctly; `None` for losses that do not classify.
    /// Derived from [`Loss::classes`].
    #[inline]
    fn is_correct(&self, y: &SVector<T, O>, target: &Self::Target) -> Option<bool> {
        self.classes(y, target).map(|c| c.predicted == c.actual)
    }

    /// The predicted and the true class of a sample, and the number of classes, for losses
    /// that classify (for precision, recall and F1); `None` for the others.
    fn classes(&self, y: &SVector<T, O>, target: &Self::Target) -> Option<Classified> {
        let _ = (y, target);
        None
    }

    /// The values a regression loss compares the output with (for R², MAE and RMSE); `None`
    /// for losses that do not regress.
    fn regression_target(&self, target: &Self::Target) -> Option<SVector<T, O>> {
        let _ = target;
        None
    }

    /// The mean loss over a minibatch (one sample per column of `y`), writing the gradient of
    /// that mean into `grad` (resized if needed).
    ///
    /// # Panics
    /// If `targets` does not hold one target per column of `y`, or holds a target that
    /// [`Loss::check_target`] refuses (see [`Loss::sample`]).
    #[inline(always)]
    fn batch(
        &self,
        y: &Batch<T, O>,
        targets: &[Self::Target],
        grad: &mut Batch<T, O>,
    ) -> BatchLoss {
        assert_eq!(y.ncols(), targets.len(), "one target per sample");
        crate::base::linalg::ensure_cols(grad, y.ncols());
        let scale = T::of(1.0 / targets.len().max(1) as f64);
        let mut sum = 0.0;
        let mut correct = Some(0);
        let outputs = y.as_slice().chunks_exact(O);
        let grads = grad.as_mut_slice().chunks_exact_mut(O);
        for ((column, g), target) in outputs.zip(grads).zip(targets) {
            let yj = SVector::<T, O>::from_column_slice(column);
            let mut gj = SVector::<T, O>::zeros();
            sum += self.sample(&yj, target, &mut gj).as_f64();
            for (g, &v) in g.iter_mut().zip(gj.as_slice()) {
                *g = v * scale;
            }
            correct = match (correct, self.is_correct(&yj, target)) {
                (Some(c), Some(ok)) => Some(c + ok as usize),
                _ => None,
            };
        }
        BatchLoss {
            mean: sum / targets.len().max(1) as f64,
            correct,
        }
    }
}

/// Targets of type `Self` are what loss `L` takes (`X`, its [`Loss::Target`]).
///
/// [`Trainer::fit`](crate::train::trainer::Trainer::fit) asks this of its dataset's targets rather than
/// demanding a `Dataset` of `L::Target` outright, so that the compiler checks it after the
/// arguments are known, and a dataset of the wrong kind of target is reported naming the
/// loss and both target types.
#[diagnostic::on_unimplemented(
    message = "the dataset's targets are `{Self}`, but `{L}` takes targets of type `{X}`",
    label = "a dataset of other targets than the loss takes",
    note = "`SoftmaxCrossEntropy` and `CrossEntropy` take class labels (`usize`), `LogisticLoss` a \
            number in [0, 1], `Mse` and `Mae` an `SVector<T, O>` per sample"
)]
pub trait TargetsOf<L, X> {
    /// The dataset, seen as one of `X` targets (it is: `Self` is `X`).
    fn dataset<T: Scalar, const I: usize>(
        data: &crate::data::Dataset<T, I, Self>,
    ) -> &crate::data::Dataset<T, I, X>
    where
        Self: Sized;
}

impl<L, X> TargetsOf<L, X> for X {
    #[inline(always)]
    fn dataset<T: Scalar, const I: usize>(
        data: &crate::data::Dataset<T, I, X>,
    ) -> &crate::data::Dataset<T, I, X> {
        data
    }
}

#[inline]
fn check_label(index: usize, label: usize, classes: usize) -> Result<(), Error> {
    if label < classes {
        Ok(())
    } else {
        Err(label_error(index, label, classes))
    }
}

/// Kept out of line, so that checking a valid label costs one comparison.
#[cold]
#[inline(never)]
fn label_error(index: usize, label: usize, classes: usize) -> Error {
    Error::LabelOutOfRange {
        index,
        label,
        classes,
    }
}

#[inline]
fn check_finite_target<T: Scalar>(index: usize, values: &[T]) -> Result<(), Error> {
    if values.iter().all(|v| v.finite()) {
        Ok(())
    } else {
        Err(non_finite_target(index, values))
    }
}

#[cold]
#[inline(never)]
fn non_finite_target<T: Scalar>(index: usize, values: &[T]) -> Error {
    let v = values
        .iter()
        .find(|v| !v.finite())
        .map_or(f64::NAN, |v| v.as_f64());
    Error::InvalidTarget {
        index,
        value: v,
        expected: "finite values",
    }
}

/// Cross-entropy of the softmax of `O` logits against a class label, fused for stability:
/// `L = log Σⱼ e^(zⱼ) − z_label`, `∂L/∂z = softmax(z) − onehot(label)`.
///
/// This is PyTorch's `nn.CrossEntropyLoss`. The network's last layer stays linear.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SoftmaxCrossEntropy;

impl<T: Scalar, const O: usize> Loss<T, O> for SoftmaxCrossEntropy {
    type Target = usize;

    #[inline(always)]
    fn sample(&self, z: &SVector<T, O>, &label: &usize, grad: &mut SVector<T, O>) -> T {
        let log_sum = softmax_into(z, grad);
        grad[label] -= T::one();
        log_sum - z[label]
    }

    #[inline]
    fn check_target(&self, index: usize, &label: &usize) -> Result<(), Error> {
        check_label(index, label, O)
    }

    #[inline]
    fn classes(&self, z: &SVector<T, O>, &label: &usize) -> Option<Classified> {
        Some(label_class(z, label))
    }
}

/// Writes `softmax(z)` into `out` and returns `log Σ e^z`: one pass of exponentials serves
/// both, with the maximum taken out so that nothing overflows.
#[inline(always)]
fn softmax_into<T: Scalar, const O: usize>(z: &SVector<T, O>, out: &mut SVector<T, O>) -> T {
    let max = z.max();
    let mut sum = T::zero();
    for (g, &v) in out.iter_mut().zip(z.iter()) {
        *g = (v - max).exp();
        sum += *g;
    }
    *out /= sum;
    sum.ln() + max
}

impl SoftmaxCrossEntropy {
    /// The same loss against smoothed targets (Szegedy et al., 2016): PyTorch's
    /// `CrossEntropyLoss(label_smoothing=ε)`. See [`SmoothedCrossEntropy`].
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] unless `0 ≤ ε ≤ 1`.
    pub fn label_smoothing(self, epsilon: f64) -> Result<SmoothedCrossEntropy, Error> {
        if !(0.0..=1.0).contains(&epsilon) {
            return Err(Error::InvalidHyperparameter {
                name: "label smoothing",
                value: epsilon,
                expected: "in [0, 1]",
            });
        }
        Ok(SmoothedCrossEntropy { epsilon })
    }
}

/// Softmax cross-entropy against a smoothed target: the label gets `1 − ε + ε/O` and every
/// other class `ε/O`, so `L = log Σⱼ e^(zⱼ) − Σₖ qₖ·zₖ` and `∂L/∂z = softmax(z) − q`.
/// PyTorch's `CrossEntropyLoss(label_smoothing=ε)`; ε = 0 is [`SoftmaxCrossEntropy`].
/// Accuracy counts the label as the class, as without smoothing.
///
/// # Example
/// ```
/// use constnet::nn::{Loss, SoftmaxCrossEntropy};
/// use constnet::nalgebra::SVector;
///
/// let smoothed = SoftmaxCrossEntropy.label_smoothing(0.1)?;
/// let logits = SVector::<f64, 3>::from([2.0, 0.5, -1.0]);
/// let mut grad = SVector::zeros();
/// let loss = smoothed.sample(&logits, &0, &mut grad);
/// assert!(grad.sum().abs() < 1e-15); // softmax(z) − q sums to 0
/// assert!(loss > SoftmaxCrossEntropy.sample(&logits, &0, &mut grad)); // a confident right answer costs more
/// # Ok::<(), constnet::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SmoothedCrossEntropy {
    epsilon: f64,
}

impl SmoothedCrossEntropy {
    /// The smoothing ε.
    pub fn epsilon(&self) -> f64 {
        self.epsilon
    }
}

impl<T: Scalar, const O: usize> Loss<T, O> for SmoothedCrossEntropy {
    type Target = usize;

    #[inline(always)]
    fn sample(&self, z: &SVector<T, O>, &label: &usize, grad: &mut SVector<T, O>) -> T {
        let log_sum = softmax_into(z, grad);
        let other = T::of(self.epsilon / O.max(1) as f64);
        let own = T::of(1.0 - self.epsilon) + other;
        let mut weighted = T::zero();
        for (k, (g, &v)) in grad.iter_mut().zip(z.iter()).enumerate() {
            let q = if k == label { own } else { other };
            *g -= q;
            weighted += q * v;
        }
        log_sum - weighted
    }

    #[inline]
    fn check_target(&self, index: usize, &label: &usize) -> Result<(), Error> {
        check_label(index, label, O)
    }

    #[inline]
    fn classes(&self, z: &SVector<T, O>, &label: &usize) -> Option<Classified> {
        Some(label_class(z, label))
    }
}

/// Cross-entropy of `O` probabilities (e.g. the output of a [`Softmax`](crate::nn::layers::Softmax)
/// layer) against a class label: `L = −log p_label`, `∂L/∂p_label = −1/p_label`.
///
/// Probabilities are clamped below at 10⁻¹² so that a confident mistake gives a large but
/// finite loss.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CrossEntropy;

impl<T: Scalar, const O: usize> Loss<T, O> for CrossEntropy {
    type Target = usize;

    #[inline(always)]
    fn sample(&self, p: &SVector<T, O>, &label: &usize, grad: &mut SVector<T, O>) -> T {
        let p_label = p[label].max(T::of(1e-12));
        grad.fill(T::zero());
        grad[label] = -T::one() / p_label;
        -p_label.ln()
    }

    #[inline]
    fn check_target(&self, index: usize, &label: &usize) -> Result<(), Error> {
        check_label(index, label, O)
    }

    #[inline]
    fn classes(&self, p: &SVector<T, O>, &label: &usize) -> Option<Classified> {
        Some(label_class(p, label))
    }
}

/// Binary logistic loss (binary cross-entropy) of one logit `z` against a target `t` in
/// [0, 1]: `L = log(1 + e^z) − t·z`, `∂L/∂z = σ(z) − t`.
///
/// This is PyTorch's `nn.BCEWithLogitsLoss`; it applies to networks with one output.
/// A sample counts as correct when `z > 0` and `t > ½`, or `z ≤ 0` and `t ≤ ½`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogisticLoss;

/// Implemented for one output only. The second impl, for a size no network can have, keeps
/// the compiler from concluding "one output" from the loss alone: it takes the output count
/// from the network, and then a mismatch is reported as the loss's ("`LogisticLoss` takes one
/// output (a logit), but the network gives 3"), not as the network's.
#[diagnostic::on_unimplemented(
    message = "`{Self}` takes one output (a logit), but the network gives {O}",
    label = "a loss for networks of one output",
    note = "for several classes, use `SoftmaxCrossEntropy` on the logits (class labels as targets)"
)]
pub trait OneOutput<const O: usize> {}
impl OneOutput<1> for LogisticLoss {}
impl OneOutput<{ usize::MAX }> for LogisticLoss {}

impl<T: Scalar, const O: usize> Loss<T, O> for LogisticLoss
where
    Self: OneOutput<O>,
{
    type Target = T;

    #[inline(always)]
    fn sample(&self, z: &SVector<T, O>, &t: &T, grad: &mut SVector<T, O>) -> T {
        let z = z[0];
        grad[0] = sigmoid(z) - t;
        // log(1 + e^z) = max(z, 0) + log(1 + e^(−|z|)), which never overflows.
        z.max(T::zero()) + (-z.abs()).exp().ln_1p() - t * z
    }

    #[inline]
    fn check_target(&self, index: usize, &t: &T) -> Result<(), Error> {
        if t >= T::zero() && t <= T::one() {
            Ok(())
        } else {
            Err(logistic_target_error(index, t.as_f64()))
        }
    }

    #[inline]
    fn classes(&self, z: &SVector<T, O>, &t: &T) -> Option<Classified> {
        Some(Classified {
            predicted: (z[0] > T::zero()) as usize,
            actual: (t > T::of(0.5)) as usize,
            classes: 2,
        })
    }
}

/// The class of `O` scores (the largest) against a class label: the two losses of labels
/// classify alike.
#[inline]
fn label_class<T: Scalar, const O: usize>(y: &SVector<T, O>, label: usize) -> Classified {
    Classified {
        predicted: argmax(y.as_slice()),
        actual: label,
        classes: O,
    }
}

#[cold]
#[inline(never)]
fn logistic_target_error(index: usize, value: f64) -> Error {
    Error::InvalidTarget {
        index,
        value,
        expected: "a value in [0, 1] (0 or 1 for hard labels)",
    }
}

/// The mean over the `O` outputs of `f(r)` for the residuals `r = y − t`, where `f` gives the
/// loss term and its derivative; writes `∂L/∂y = f′(r)/O` into `grad`.
#[inline(always)]
fn mean_over_residuals<T: Scalar, const O: usize>(
    y: &SVector<T, O>,
    t: &SVector<T, O>,
    grad: &mut SVector<T, O>,
    f: impl Fn(T) -> (T, T),
) -> T {
    let scale = T::of(1.0 / O as f64);
    let mut sum = T::zero();
    let pairs = y.as_slice().iter().zip(t.as_slice());
    for (g, (&y, &t)) in grad.as_mut_slice().iter_mut().zip(pairs) {
        let (value, derivative) = f(y - t);
        sum += value;
        *g = derivative * scale;
    }
    sum * scale
}

/// Squared error (MSE), averaged over the `O` outputs: `L = (1/O)·Σᵢ (yᵢ − tᵢ)²`,
/// `∂L/∂yᵢ = 2(yᵢ − tᵢ)/O`. Over a minibatch this is PyTorch's `nn.MSELoss`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mse;

impl<T: Scalar, const O: usize> Loss<T, O> for Mse {
    type Target = SVector<T, O>;

    #[inline(always)]
    fn sample(&self, y: &SVector<T, O>, t: &SVector<T, O>, grad: &mut SVector<T, O>) -> T {
        mean_over_residuals(y, t, grad, |r| (r * r, r + r))
    }

    #[inline]
    fn check_target(&self, index: usize, t: &SVector<T, O>) -> Result<(), Error> {
        check_finite_target(index, t.as_slice())
    }

    fn regression_target(&self, t: &SVector<T, O>) -> Option<SVector<T, O>> {
        Some(*t)
    }
}

/// Absolute error (MAE), averaged over the `O` outputs: `L = (1/O)·Σᵢ |yᵢ − tᵢ|`,
/// `∂L/∂yᵢ = sign(yᵢ − tᵢ)/O` (0 where they are equal). Over a minibatch this is
/// PyTorch's `nn.L1Loss`; it is less pulled by outliers than [`Mse`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mae;

impl<T: Scalar, const O: usize> Loss<T, O> for Mae {
    type Target = SVector<T, O>;

    #[inline(always)]
    fn sample(&self, y: &SVector<T, O>, t: &SVector<T, O>, grad: &mut SVector<T, O>) -> T {
        mean_over_residuals(y, t, grad, |r| {
            let sign = if r > T::zero() {
                T::one()
            } else if r < T::zero() {
                -T::one()
            } else {
                T::zero()
            };
            (r.abs(), sign)
        })
    }

    #[inline]
    fn check_target(&self, index: usize, t: &SVector<T, O>) -> Result<(), Error> {
        check_finite_target(index, t.as_slice())
    }

    fn regression_target(&self, t: &SVector<T, O>) -> Option<SVector<T, O>> {
        Some(*t)
    }
}

#[cfg(feature = "std")]
#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check_loss_gradient;
    use nalgebra::{Vector1, Vector3};

    // torch 2.15.0+cu132, `python3 tests/pytorch/loss_reference.py`.
    const SMOOTHED_1_LOSS: f64 = 1.961163570316931;
    const SMOOTHED_1_GRAD: [f64; 12] = [
        0.013272847425429155,
        0.11600165227930484,
        -0.28059044808153266,
        0.15131594837679874,
        -0.2867271525745709,
        0.11600165227930485,
        0.019409551918467337,
        0.15131594837679876,
        0.013272847425429155,
        0.11600165227930484,
        0.019409551918467334,
        -0.14868405162320128,
    ];
    const SMOOTHED_3_LOSS: f64 = 1.9111635703169307;
    const SMOOTHED_3_GRAD: [f64; 12] = [
        -0.003393819241237513,
        0.09933498561263815,
        -0.23059044808153265,
        0.13464928171013205,
        -0.2367271525745708,
        0.09933498561263816,
        0.0027428852518006685,
        0.13464928171013207,
        -0.003393819241237513,
        0.09933498561263815,
        0.0027428852518006637,
        -0.09868405162320128,
    ];

    /// Loss and gradient equal PyTorch's `CrossEntropyLoss(label_smoothing=ε)` on a batch.
    #[test]
    fn label_smoothing_equals_pytorch() {
        let z = Batch::<f64, 4>::from_fn(3, |r, c| ((c * 4 + r) * 7 % 13) as f64 / 4.0 - 1.5);
        let labels = [2, 0, 3];
        for (eps, loss, grad) in [
            (0.1, SMOOTHED_1_LOSS, SMOOTHED_1_GRAD),
            (0.3, SMOOTHED_3_LOSS, SMOOTHED_3_GRAD),
        ] {
            let smoothed = SoftmaxCrossEntropy.label_smoothing(eps).unwrap();
            let mut g = Batch::zeros(0);
            let out = smoothed.batch(&z, &labels, &mut g);
            assert!((out.mean - loss).abs() < 1e-14, "{} vs {loss}", out.mean);
            for (a, b) in g.as_slice().iter().zip(&grad) {
                assert!((a - b).abs() < 1e-15, "{a} vs {b}");
            }
        }
        // ε = 0 is the plain loss; ε outside [0, 1] is refused.
        let plain = SoftmaxCrossEntropy.label_smoothing(0.0).unwrap();
        let (mut g1, mut g2) = (Batch::zeros(0), Batch::zeros(0));
        let a = plain.batch(&z, &labels, &mut g1);
        let b = SoftmaxCrossEntropy.batch(&z, &labels, &mut g2);
        assert!((a.mean - b.mean).abs() < 1e-15 && a.correct == b.correct);
        assert!(SoftmaxCrossEntropy.label_smoothing(1.5).is_err());
        assert!(SoftmaxCrossEntropy.label_smoothing(f64::NAN).is_err());
        for label in 0..4 {
            check_loss_gradient::<_, 4>(
                &SoftmaxCrossEntropy.label_smoothing(0.2).unwrap(),
                &label,
                false,
                5,
            );
        }
    }

    #[test]
    fn gradients_match_central_differences() {
        for label in 0..4 {
            check_loss_gradient::<_, 4>(&SoftmaxCrossEntropy, &label, false, 21);
        }
        check_loss_gradient::<_, 4>(&CrossEntropy, &2, true, 22);
        for t in [0.0, 0.3, 1.0] {
            check_loss_gradient::<_, 1>(&LogisticLoss, &t, false, 23);
        }
        check_loss_gradient::<_, 3>(&Mse, &Vector3::new(0.5, -1.0, 2.0), false, 24);
        check_loss_gradient::<_, 3>(&Mae, &Vector3::new(5.0, -5.0, 0.0), false, 25);
    }

    #[test]
    fn cross_entropy_matches_recorded_values() {
        // Python: z = [2.0, 1.0, 0.1]; lse = math.log(sum(math.exp(v) for v in z)); lse - z[0]
        // (the same value as torch.nn.functional.cross_entropy on these logits).
        let z = Vector3::<f64>::new(2.0, 1.0, 0.1);
        let mut g = Vector3::zeros();
        let loss: f64 = SoftmaxCrossEntropy.sample(&z, &0, &mut g);
        assert!((loss - 0.4170300162778333).abs() < 1e-14, "{loss}");
        let softmax = [0.659001138885968, 0.24243297070471395, 0.0985658904093182];
        assert!((g[0] - (softmax[0] - 1.0)).abs() < 1e-14);
        assert!((g[1] - softmax[1]).abs() < 1e-14);
        assert!((g[2] - softmax[2]).abs() < 1e-14);
        // Through a softmax layer and the probability form, the loss is the same.
        let p = Vector3::from_column_slice(&softmax);
        let loss_p = CrossEntropy.sample(&p, &0, &mut g);
        assert!((loss_p - loss).abs() < 1e-14);
    }

    #[test]
    fn logistic_loss_matches_recorded_values_and_is_stable() {
        // Python: math.log(1 + math.exp(1.5)) - 1.0 * 1.5  and  math.log(1 + math.exp(1.5)).
        let mut g = Vector1::zeros();
        let l1: f64 = LogisticLoss.sample(&Vector1::new(1.5), &1.0, &mut g);
        assert!((l1 - 0.20141327798275244).abs() < 1e-14, "{l1}");
        let l0: f64 = LogisticLoss.sample(&Vector1::new(1.5), &0.0, &mut g);
        assert!((l0 - 1.7014132779827524).abs() < 1e-14, "{l0}");
        let far = LogisticLoss.sample(&Vector1::new(1000.0_f32), &0.0, &mut Vector1::zeros());
        assert_eq!(far, 1000.0);
        let near = LogisticLoss.sample(&Vector1::new(1000.0_f32), &1.0, &mut Vector1::zeros());
        assert_eq!(near, 0.0);
    }

    #[test]
    fn regression_losses_match_hand_computation() {
        let close = |a: f64, b: f64| assert!((a - b).abs() < 1e-15, "{a} vs {b}");
        let y = Vector3::new(1.0, 2.0, 3.0);
        let t = Vector3::new(0.0, 2.0, 5.0);
        let mut g = Vector3::zeros();
        close(Mse.sample(&y, &t, &mut g), (1.0 + 0.0 + 4.0) / 3.0);
        for (a, b) in g.iter().zip([2.0 / 3.0, 0.0, -4.0 / 3.0]) {
            close(*a, b);
        }
        close(Mae.sample(&y, &t, &mut g), (1.0 + 0.0 + 2.0) / 3.0);
        for (a, b) in g.iter().zip([1.0 / 3.0, 0.0, -1.0 / 3.0]) {
            close(*a, b);
        }
    }

    #[test]
    fn batch_is_the_mean_of_samples() {
        let y = Batch::<f64, 3>::from_column_slice(&[2.0, 1.0, 0.1, 0.0, 3.0, 0.0]);
        let targets = [0, 2];
        let mut grad = Batch::zeros(0);
        let out = SoftmaxCrossEntropy.batch(&y, &targets, &mut grad);
        let mut g0 = Vector3::zeros();
        let mut g1 = Vector3::zeros();
        let l0 = SoftmaxCrossEntropy.sample(&y.column(0).into_owned(), &0, &mut g0);
        let l1 = SoftmaxCrossEntropy.sample(&y.column(1).into_owned(), &2, &mut g1);
        assert!((out.mean - (l0 + l1) / 2.0).abs() < 1e-15);
        assert_eq!(out.correct, Some(1));
        assert_eq!(grad.column(0), g0 / 2.0);
        assert_eq!(grad.column(1), g1 / 2.0);
        assert_eq!(
            Mse.batch(&y, &[Vector3::zeros(); 2], &mut grad).correct,
            None
        );
    }

    #[test]
    fn losses_are_non_negative() {
        let mut g = Vector3::zeros();
        let ys = [Vector3::new(-3.0, 0.0, 8.0), Vector3::new(0.1, 0.2, 0.7)];
        for y in ys {
            for label in 0..3 {
                assert!(SoftmaxCrossEntropy.sample(&y, &label, &mut g) >= 0.0);
            }
            assert!(Mse.sample(&y, &Vector3::zeros(), &mut g) >= 0.0);
            assert!(Mae.sample(&y, &Vector3::zeros(), &mut g) >= 0.0);
        }
    }

    #[test]
    fn invalid_targets_are_rejected_with_their_index() {
        let err = Loss::<f32, 10>::check_target(&SoftmaxCrossEntropy, 7, &10).unwrap_err();
        assert!(matches!(
            err,
            Error::LabelOutOfRange {
                index: 7,
                label: 10,
                classes: 10
            }
        ));
        assert!(Loss::<f32, 10>::check_target(&SoftmaxCrossEntropy, 0, &9).is_ok());
        assert!(matches!(
            Loss::<f32, 1>::check_target(&LogisticLoss, 3, &2.0_f32),
            Err(Error::InvalidTarget { index: 3, .. })
        ));
        assert!(matches!(
            Mse.check_target(4, &Vector3::new(0.0, f64::NAN, 0.0)),
            Err(Error::InvalidTarget { index: 4, .. })
        ));
    }
}
