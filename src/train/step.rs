//! Training steps: one sample ([`train_sample`]), one minibatch ([`Workspace::step`]), and
//! evaluation. The epoch loop is [`Trainer`](crate::train::trainer::Trainer) (with the `std` feature).

use core::marker::PhantomData;

use nalgebra::SVector;

use crate::alloc_prelude::*;
use crate::base::simd;
use crate::nn::layer::DynTape;
use crate::nn::loss::BatchLoss;
use crate::optim::optimizer::step_into;
use crate::train::clip::Clip;
use crate::train::metrics::{ClassScores, RegressionScores, class_scores, regression_scores_iter};
use crate::{
    base::linalg::Batch, base::scalar::Scalar, data::Dataset, error::Error, nn::layer::Layer,
    nn::loss::Loss, nn::loss::TargetsOf, optim::Optimizer,
};

/// One training step on one sample: forward, loss, backward, optimizer update.
/// Returns the loss before the update. Allocates nothing on the heap.
///
/// # Errors
/// [`Error::LabelOutOfRange`] / [`Error::InvalidTarget`] for a target the loss cannot take
/// (checked first: the network is then unchanged).
///
/// # Example
/// ```
/// use constnet::{nn::{Layer, Linear, Mse}, optim::Sgd, train::train_sample};
/// use nalgebra::SVector;
///
/// // Learn y = 2x + 1 from two points, one sample at a time.
/// let mut net = Linear::<1, 1, f64>::zeros();
/// let mut sgd = Sgd::new(0.1)?;
/// for _ in 0..200 {
///     for (x, y) in [(1.0, 3.0), (-1.0, -1.0)] {
///         train_sample(&mut net, &Mse, &mut sgd, &SVector::from([x]), &SVector::from([y]))?;
///     }
/// }
/// assert!((net.forward(&SVector::from([3.0]))[0] - 7.0).abs() < 1e-3);
/// # Ok::<(), constnet::Error>(())
/// ```
#[inline]
pub fn train_sample<T, N, L, Opt, const I: usize, const O: usize>(
    net: &mut N,
    loss: &L,
    optimizer: &mut Opt,
    x: &SVector<T, I>,
    target: &L::Target,
) -> Result<T, Error>
where
    T: Scalar,
    N: Layer<T, I, O>,
    L: Loss<T, O>,
    Opt: Optimizer<T>,
{
    loss.check_target(0, target)?;
    let lr = optimizer.learning_rate();
    let mut failed = None;
    let value = sample_step(net, loss, optimizer, lr, x, target, &mut failed);
    failed.map_or(Ok(value), Err)
}

/// [`train_sample`] on a target already checked.
#[inline(always)]
fn sample_step_kernel<T, N, L, Opt, const I: usize, const O: usize>(
    net: &mut N,
    loss: &L,
    optimizer: &mut Opt,
    lr: f64,
    x: &SVector<T, I>,
    target: &L::Target,
    failed: &mut Option<Error>,
) -> T
where
    T: Scalar,
    N: Layer<T, I, O>,
    L: Loss<T, O>,
    Opt: Optimizer<T>,
{
    let (y, tape) = net.forward_tape(x);
    let mut dy = SVector::zeros();
    let value = loss.sample(&y, target, &mut dy);
    net.backward(x, &y, &dy, &tape);
    step_into(optimizer, net, lr, failed);
    value
}

simd::multiversion! {
    /// [`sample_step_kernel`], compiled for the CPU's vector width: the whole step is
    /// chosen once, so its small loops (layers, activations, loss gradient) all run wide.
    fn sample_step[T: Scalar, N: Layer<T, I, O>, L: Loss<T, O>, Opt: Optimizer<T>, const I: usize, const O: usize](
        net: &mut N,
        loss: &L,
        optimizer: &mut Opt,
        lr: f64,
        x: &SVector<T, I>,
        target: &L::Target,
        failed: &mut Option<Error>,
    ) -> T = sample_step_kernel;
}

/// [`Workspace::step`] on targets already checked: forward, loss, backward, update.
#[inline(always)]
fn batch_step_kernel<T, N, L, Opt, const I: usize, const O: usize>(
    workspace: &mut Workspace<T, N, I, O>,
    net: &mut N,
    loss: &L,
    optimizer: &mut Opt,
    lr: f64,
    x: &Batch<T, I>,
    targets: &[L::Target],
) -> BatchLoss
where
    T: Scalar,
    N: Layer<T, I, O>,
    L: Loss<T, O>,
    Opt: Optimizer<T>,
{
    let w = workspace;
    net.forward_batch(x, &mut w.output, &mut w.tape);
    let value = loss.batch(&w.output, targets, &mut w.output_grad);
    net.backward_batch(x, &w.output, &w.output_grad, None, &mut w.tape);
    if let Some(clip) = w.clip {
        w.grad_norm = Some(clip.apply(net));
    }
    step_into(optimizer, net, lr, &mut w.failed);
    value
}

simd::multiversion! {
    /// [`batch_step_kernel`], compiled for the CPU's vector width (the matrix products
    /// choose their own kernels; the elementwise work around them runs wide).
    fn batch_step[T: Scalar, N: Layer<T, I, O>, L: Loss<T, O>, Opt: Optimizer<T>, const I: usize, const O: usize](
        workspace: &mut Workspace<T, N, I, O>,
        net: &mut N,
        loss: &L,
        optimizer: &mut Opt,
        lr: f64,
        x: &Batch<T, I>,
        targets: &[L::Target],
    ) -> BatchLoss = batch_step_kernel;
}

/// The buffers of minibatch training for network `N`, kept between steps so that a step
/// allocates nothing unless the batch size changes.
pub struct Workspace<T: Scalar, N: Layer<T, I, O>, const I: usize, const O: usize> {
    output: Batch<T, O>,
    output_grad: Batch<T, O>,
    tape: DynTape,
    /// The error of the last step's update, if it failed (set on the cold path only).
    failed: Option<Error>,
    /// Gradient clipping before each update, if any.
    clip: Option<Clip>,
    /// The last step's gradient norm before clipping, and whether it was clipped.
    grad_norm: Option<(f64, bool)>,
    network: PhantomData<fn(&N)>,
}

impl<T: Scalar, N: Layer<T, I, O>, const I: usize, const O: usize> Default
    for Workspace<T, N, I, O>
{
    fn default() -> Self {
        Workspace {
            output: Batch::zeros(0),
            output_grad: Batch::zeros(0),
            tape: DynTape::default(),
            failed: None,
            clip: None,
            grad_norm: None,
            network: PhantomData,
        }
    }
}

impl<T: Scalar, N: Layer<T, I, O>, const I: usize, const O: usize> Workspace<T, N, I, O> {
    /// Empty buffers; they grow on the first step.
    pub fn new() -> Self {
        Self::default()
    }

    /// One minibatch step: forward, mean loss, backward (skipping the input gradient),
    /// optimizer update at the optimizer's own learning rate. Returns the batch's loss
    /// before the update.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] unless `targets` holds one target per column of `x`;
    /// [`Error::LabelOutOfRange`] / [`Error::InvalidTarget`] for a target the loss cannot
    /// take (`index` is its column). Both are checked first: the network is then unchanged.
    /// [`Error::OptimizerState`] if the optimizer's state is of another network.
    pub fn step<L: Loss<T, O>, Opt: Optimizer<T>>(
        &mut self,
        net: &mut N,
        loss: &L,
        optimizer: &mut Opt,
        x: &Batch<T, I>,
        targets: &[L::Target],
    ) -> Result<BatchLoss, Error> {
        let lr = optimizer.learning_rate();
        self.step_with_rate(net, loss, optimizer, lr, x, targets)
    }

    /// [`Workspace::step`] with learning rate `lr` (from a schedule of your own).
    ///
    /// # Errors
    /// As [`Workspace::step`].
    pub fn step_with_rate<L: Loss<T, O>, Opt: Optimizer<T>>(
        &mut self,
        net: &mut N,
        loss: &L,
        optimizer: &mut Opt,
        lr: f64,
        x: &Batch<T, I>,
        targets: &[L::Target],
    ) -> Result<BatchLoss, Error> {
        if targets.len() != x.ncols() {
            return Err(Error::LengthMismatch {
                what: "targets (one per column of the minibatch)",
                expected: x.ncols(),
                found: targets.len(),
            });
        }
        for (i, t) in targets.iter().enumerate() {
            loss.check_target(i, t)?;
        }
        self.step_checked(net, loss, optimizer, lr, x, targets)
    }

    /// [`Workspace::step`] on targets already checked, with learning rate `lr`.
    pub(crate) fn step_checked<L: Loss<T, O>, Opt: Optimizer<T>>(
        &mut self,
        net: &mut N,
        loss: &L,
        optimizer: &mut Opt,
        lr: f64,
        x: &Batch<T, I>,
        targets: &[L::Target],
    ) -> Result<BatchLoss, Error> {
        let value = batch_step(self, net, loss, optimizer, lr, x, targets);
        self.failed.take().map_or(Ok(value), Err)
    }

    /// Clips the gradients of every following step before the update (`None`: no clipping).
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] for a clipping number that is not finite and `> 0`;
    /// the setting is then unchanged.
    pub fn set_clip(&mut self, clip: Option<Clip>) -> Result<(), Error> {
        self.clip = clip.map(Clip::check).transpose()?;
        Ok(())
    }

    /// The last step's global gradient norm before clipping and whether clipping changed
    /// the gradients; `None` unless clipping is on ([`Workspace::set_clip`]).
    pub fn last_grad_norm(&self) -> Option<(f64, bool)> {
        self.grad_norm
    }

    /// The network's output for the last step's minibatch (before the update).
    pub fn output(&self) -> &Batch<T, O> {
        &self.output
    }
}

/// Loss and the scores that apply to it, of a network on a dataset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    /// Mean loss over the samples.
    pub loss: f64,
    /// Fraction classified correctly (`None` for regression losses).
    pub accuracy: Option<f64>,
    /// Macro precision, recall and F1 (`None` for regression losses).
    pub classes: Option<ClassScores>,
    /// R², MAE and RMSE (`None` for classification losses).
    pub regression: Option<RegressionScores>,
}

/// The largest absolute weight of each layer that has a weight matrix, first to last.
pub fn max_abs_weights<T: Scalar, N: Layer<T, I, O>, const I: usize, const O: usize>(
    net: &N,
) -> Vec<f64> {
    let mut out = Vec::new();
    net.visit_params(&crate::nn::param::Path::ROOT, &mut |p| {
        if p.decay {
            out.push(
                p.value
                    .iter()
                    .fold(0.0, |m: f64, w| m.max(w.abs().as_f64())),
            );
        }
    });
    out
}

pub(crate) fn check_targets<T: Scalar, L: Loss<T, O>, const I: usize, const O: usize>(
    loss: &L,
    data: &Dataset<T, I, L::Target>,
) -> Result<(), Error> {
    data.targets()
        .iter()
        .enumerate()
        .try_for_each(|(i, t)| loss.check_target(i, t))
}

pub(crate) fn evaluate_checked<T, N, L, const I: usize, const O: usize>(
    net: &N,
    loss: &L,
    data: &Dataset<T, I, L::Target>,
) -> Evaluation
where
    T: Scalar,
    N: Layer<T, I, O>,
    L: Loss<T, O>,
{
    let outputs = data.outputs(net);
    let mut grad = Batch::zeros(0);
    let out = loss.batch(&outputs, data.targets(), &mut grad);
    let samples = || {
        outputs
            .as_slice()
            .chunks_exact(O)
            .map(SVector::<T, O>::from_column_slice)
            .zip(data.targets())
    };
    let classes = samples()
        .map(|(y, t)| loss.classes(&y, t))
        .collect::<Option<Vec<_>>>()
        .map(|c| {
            let count = c.first().map_or(0, |c| c.classes);
            class_scores(c.iter().map(|c| (c.predicted, c.actual)), count)
        });
    let regression = data
        .targets()
        .first()
        .and_then(|t| loss.regression_target(t))
        .map(|_| {
            let targets = data.targets().iter();
            regression_scores_iter(
                &outputs,
                targets.map(|t| loss.regression_target(t).unwrap_or_else(SVector::zeros)),
            )
        });
    Evaluation {
        loss: out.mean,
        accuracy: out.correct.map(|c| c as f64 / data.len().max(1) as f64),
        classes,
        regression,
    }
}

/// Mean loss (and accuracy, for classification losses) of `net` on `data`.
///
/// # Errors
/// [`Error::EmptyDataset`] for an empty dataset; [`Error::LabelOutOfRange`] /
/// [`Error::InvalidTarget`] for a target the loss cannot take.
pub fn evaluate<T, N, L, Y, const I: usize, const O: usize>(
    net: &N,
    loss: &L,
    data: &Dataset<T, I, Y>,
) -> Result<Evaluation, Error>
where
    T: Scalar,
    N: Layer<T, I, O>,
    L: Loss<T, O>,
    Y: TargetsOf<L, L::Target>,
{
    let data = Y::dataset(data);
    if data.is_empty() {
        return Err(Error::EmptyDataset {
            what: "dataset given to evaluate",
        });
    }
    check_targets(loss, data)?;
    Ok(evaluate_checked(net, loss, data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::layer::{forward_kernel, forward_one};
    use crate::{
        nn::init::Init, nn::layers::Linear, nn::layers::Relu, nn::layers::Sigmoid,
        nn::layers::Tanh, nn::loss::Mse, nn::loss::SoftmaxCrossEntropy, optim::Adam, optim::Sgd,
        seq,
    };
    use rand::rngs::SmallRng;
    use rand::{RngExt, SeedableRng};

    /// Every parameter's bits, in order.
    fn bits<N: Layer<f32, I, O>, const I: usize, const O: usize>(net: &N) -> Vec<u32> {
        let mut out = Vec::new();
        net.visit_params(&crate::nn::param::Path::ROOT, &mut |p| {
            out.extend(p.value.iter().map(|v| v.to_bits()))
        });
        out
    }

    /// The AVX2 builds of the one-sample step, the one-sample forward pass and the minibatch
    /// step (taken on this machine when the CPU has AVX2) give the very bits of the baseline
    /// build: tanh, sigmoid and ReLU layers, softmax cross-entropy and squared error, Adam and
    /// SGD with momentum. `cargo test --release` is where the two builds differ in code.
    #[test]
    fn vectorised_steps_match_the_baseline_bit_for_bit() {
        let net = || {
            let rng = &mut SmallRng::seed_from_u64(5);
            seq![
                Linear::<3, 16>::new(Init::XavierUniform, rng),
                Tanh,
                Linear::<16, 9>::new(Init::XavierUniform, rng),
                Sigmoid,
                Linear::<9, 12>::new(Init::HeNormal, rng),
                Relu,
                Linear::<12, 4>::new(Init::XavierUniform, rng)
            ]
        };
        let rng = &mut SmallRng::seed_from_u64(6);
        let xs: Vec<SVector<f32, 3>> = (0..40)
            .map(|_| SVector::from_fn(|_, _| rng.random_range(-3.0..3.0)))
            .collect();
        let labels: Vec<usize> = (0..40).map(|i| i % 4).collect();
        let values: Vec<SVector<f32, 4>> = xs
            .iter()
            .map(|x| SVector::from_fn(|r, _| x[r % 3] * 0.5))
            .collect();

        let (mut a, mut b) = (net(), net());
        let (mut oa, mut ob) = (Adam::new(0.01).unwrap(), Adam::new(0.01).unwrap());
        for (x, t) in xs.iter().zip(&labels) {
            let la =
                sample_step_kernel(&mut a, &SoftmaxCrossEntropy, &mut oa, 0.01, x, t, &mut None);
            let lb = sample_step(&mut b, &SoftmaxCrossEntropy, &mut ob, 0.01, x, t, &mut None);
            assert_eq!(la.to_bits(), lb.to_bits());
            let (ya, yb) = (forward_kernel(&a, x), forward_one(&b, x));
            assert_eq!(ya.map(f32::to_bits), yb.map(f32::to_bits));
        }
        assert_eq!(bits(&a), bits(&b));
        assert_ne!(bits(&a), bits(&net()), "the steps changed the weights");

        let (mut a, mut b) = (net(), net());
        let momentum = || Sgd::new(0.05).unwrap().momentum(0.9).unwrap();
        let (mut oa, mut ob) = (momentum(), momentum());
        let x = Batch::<f32, 3>::from_fn(37, |r, c| xs[c][r]);
        let (mut wa, mut wb) = (Workspace::new(), Workspace::new());
        for _ in 0..3 {
            let (va, vb) = (&values[..37], &values[..37]);
            let la = batch_step_kernel(&mut wa, &mut a, &Mse, &mut oa, 0.05, &x, va);
            let lb = batch_step(&mut wb, &mut b, &Mse, &mut ob, 0.05, &x, vb);
            assert_eq!(la.mean.to_bits(), lb.mean.to_bits());
            let la = batch_step_kernel(
                &mut wa,
                &mut a,
                &SoftmaxCrossEntropy,
                &mut oa,
                0.05,
                &x,
                &labels[..37],
            );
            let lb = batch_step(
                &mut wb,
                &mut b,
                &SoftmaxCrossEntropy,
                &mut ob,
                0.05,
                &x,
                &labels[..37],
            );
            assert_eq!(la.mean.to_bits(), lb.mean.to_bits());
        }
        assert_eq!(bits(&a), bits(&b));
    }
}
