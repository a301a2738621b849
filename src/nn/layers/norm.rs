//! Normalisation: [`BatchNorm1d`] and [`BatchNorm2d`] (Ioffe & Szegedy, 2015), which
//! normalise each feature or channel over the minibatch, and [`LayerNorm`] (Ba et al., 2016),
//! which normalises each sample over its features. All follow PyTorch's definitions,
//! defaults and tensor names.

use core::fmt;

use nalgebra::SVector;

use crate::alloc_prelude::*;
use crate::base::linalg::ensure_cols;
use crate::base::names::short_type_name;
use crate::nn::layer::{DynTape, LayerInfo};
use crate::nn::param::Path;
use crate::{
    base::linalg::Batch, base::scalar::Scalar, error::Error, nn::layer::Layer, nn::takes::Takes,
};
#[allow(unused_imports)]
use num_traits::Float as _;

/// Batch normalisation over `C` channels of `N / C` values each: in training mode every
/// channel is normalised by the mean and (biased) variance of its values over the minibatch,
/// then scaled and shifted by learned `weight` (γ) and `bias` (β):
/// `y = γ·(x − μ_B)/√(σ²_B + ε) + β`. In evaluation mode the running estimates replace the
/// batch statistics, so each sample's output depends on itself only.
///
/// Use it through its two names: [`BatchNorm1d`]`<N>` over the `N` features of a flat vector
/// (after a [`Linear`](crate::nn::Linear)) and [`BatchNorm2d`]`<C, N>` over the `C` channels of
/// images or signals of `N` values in PyTorch's channel-major layout (after a
/// [`Conv2d`](crate::nn::Conv2d) or [`Conv1d`](crate::nn::Conv1d); in [`Net!`](crate::Net) write
/// `BatchNorm2d<C>` and the size is worked out).
///
/// As PyTorch: `ε = 10⁻⁵`; the running estimates start at mean 0 and variance 1 and move by
/// `momentum` (0.1) towards each batch's mean and *unbiased* variance, or by the cumulative
/// average when the momentum is `None`; `num_batches_tracked` counts the training batches.
/// The running statistics are buffers ([`Role`](crate::nn::Role)): saved with the weights
/// under PyTorch's names (`running_mean`, `running_var`, `num_batches_tracked`), never
/// learned or decayed; `weight` and `bias` are learned and not decayed.
///
/// **When the running statistics move.** PyTorch updates them in the forward pass; here the
/// forward pass only reads the layer (`&self`, so that one network can serve several
/// threads), and the backward pass of a training step applies the update from the batch
/// statistics the forward pass recorded. A training step (forward then backward, what
/// [`Trainer`](crate::train::trainer::Trainer) and [`Workspace`](crate::train::Workspace) do)
/// thus ends with the very running statistics PyTorch's ends with.
///
/// A batch of one sample in training mode has no spread: its output is β and its input
/// gradient zero, and the running variance moves towards 0 (PyTorch refuses this case).
/// Train with minibatches of several samples.
///
/// # Example
/// ```
/// use constnet::nn::{BatchNorm1d, Layer};
/// use constnet::nalgebra::SVector;
///
/// let mut bn = BatchNorm1d::<2, f64>::new();
/// // Evaluation mode (the default): the running statistics, mean 0 and variance 1.
/// let y = bn.forward(&SVector::from([1.0, -2.0]));
/// assert!((y[0] - 1.0 / (1.0 + 1e-5_f64).sqrt()).abs() < 1e-15);
/// bn.set_training(true);
/// // Training: a batch of two samples is normalised to ±1 per feature.
/// let x = constnet::Batch::<f64, 2>::from_column_slice(&[1.0, 10.0, 3.0, 20.0]);
/// let y = bn.predict_batch(&x);
/// assert!((y[(0, 0)] + 1.0).abs() < 1e-4 && (y[(1, 1)] - 1.0).abs() < 1e-4);
/// ```
#[derive(Clone)]
pub struct BatchNorm<const C: usize, const N: usize, T: Scalar = f32> {
    weight: SVector<T, C>,
    bias: SVector<T, C>,
    weight_grad: SVector<T, C>,
    bias_grad: SVector<T, C>,
    running_mean: SVector<T, C>,
    running_var: SVector<T, C>,
    /// The number of training batches seen, as one value of `T` (whole numbers of `f32`
    /// are exact up to 2²⁴ batches).
    num_batches_tracked: [T; 1],
    eps: f64,
    momentum: Option<f64>,
    training: bool,
}

/// [`BatchNorm`] over the `N` features of a flat vector: PyTorch's `BatchNorm1d(N)` on
/// inputs of shape `[batch, N]`.
pub type BatchNorm1d<const N: usize, T = f32> = BatchNorm<N, N, T>;

/// [`BatchNorm`] over the `C` channels of images (`C x H x W`, `N = C·H·W` values) or
/// signals (`C x L`): PyTorch's `BatchNorm2d(C)` (or `BatchNorm1d(C)` on `[batch, C, L]`).
pub type BatchNorm2d<const C: usize, const N: usize, T = f32> = BatchNorm<C, N, T>;

impl<const C: usize, const N: usize, T: Scalar> Default for BatchNorm<C, N, T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const C: usize, const N: usize, T: Scalar> BatchNorm<C, N, T> {
    /// The values per channel (`H·W` for images, 1 for features).
    const SPATIAL: usize = {
        assert!(
            C > 0 && N.is_multiple_of(C),
            "BatchNorm<C, N>: N must be a multiple of the channels C"
        );
        N / C
    };

    /// PyTorch's initial state: γ = 1, β = 0, running mean 0 and variance 1, no batches
    /// seen, `ε = 10⁻⁵`, momentum 0.1, evaluation mode.
    pub fn new() -> Self {
        let _ = Self::SPATIAL;
        BatchNorm {
            weight: SVector::repeat(T::one()),
            bias: SVector::zeros(),
            weight_grad: SVector::zeros(),
            bias_grad: SVector::zeros(),
            running_mean: SVector::zeros(),
            running_var: SVector::repeat(T::one()),
            num_batches_tracked: [T::zero()],
            eps: 1e-5,
            momentum: Some(0.1),
            training: false,
        }
    }

    /// Sets ε, added to the variance before its square root.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] unless `ε` is finite and `> 0`.
    pub fn eps(mut self, eps: f64) -> Result<Self, Error> {
        if !(eps.is_finite() && eps > 0.0) {
            return Err(Error::InvalidHyperparameter {
                name: "batch norm epsilon",
                value: eps,
                expected: "> 0",
            });
        }
        self.eps = eps;
        Ok(self)
    }

    /// Sets the momentum of the running estimates: `Some(m)` moves them by `m` towards each
    /// batch's statistics, `None` keeps their cumulative average (PyTorch's `momentum=None`).
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] unless `m` lies in [0, 1].
    pub fn momentum(mut self, momentum: Option<f64>) -> Result<Self, Error> {
        if let Some(m) = momentum
            && !(0.0..=1.0).contains(&m)
        {
            return Err(Error::InvalidHyperparameter {
                name: "batch norm momentum",
                value: m,
                expected: "in [0, 1]",
            });
        }
        self.momentum = momentum;
        Ok(self)
    }

    /// The learned scale γ, one per channel.
    pub fn weight(&self) -> &SVector<T, C> {
        &self.weight
    }

    /// The learned shift β, one per channel.
    pub fn bias(&self) -> &SVector<T, C> {
        &self.bias
    }

    /// The running estimate of each channel's mean.
    pub fn running_mean(&self) -> &SVector<T, C> {
        &self.running_mean
    }

    /// The running estimate of each channel's variance.
    pub fn running_var(&self) -> &SVector<T, C> {
        &self.running_var
    }

    /// The training batches seen.
    pub fn num_batches_tracked(&self) -> u64 {
        self.num_batches_tracked[0].as_f64() as u64
    }

    /// Whether it is in training mode.
    pub fn is_training(&self) -> bool {
        self.training
    }

    /// Each channel's `1/√(σ² + ε)` for the running variance: evaluation mode's scale.
    fn running_inv_std(&self, c: usize) -> T {
        T::one() / (self.running_var[c] + T::of(self.eps)).sqrt()
    }

    /// Moves the running statistics towards a batch's `mean` and biased `var` over `m`
    /// values per channel, and counts the batch (PyTorch's order: count first, so that the
    /// cumulative average of `momentum = None` divides by the batches seen).
    fn track(&mut self, mean: &[T], var: &[T], m: usize) {
        self.num_batches_tracked[0] += T::one();
        let factor = match self.momentum {
            Some(momentum) => T::of(momentum),
            None => T::one() / self.num_batches_tracked[0],
        };
        let unbiased = if m > 1 {
            T::of(m as f64 / (m - 1) as f64)
        } else {
            T::one()
        };
        for c in 0..C {
            let keep = T::one() - factor;
            self.running_mean[c] = keep * self.running_mean[c] + factor * mean[c];
            self.running_var[c] = keep * self.running_var[c] + factor * var[c] * unbiased;
        }
    }
}

/// The minibatch tape of a [`BatchNorm`]: whether the pass used batch statistics, and per
/// channel the mean, biased variance and `1/√(σ² + ε)` it normalised with.
#[derive(Debug, Default)]
struct BatchNormTape<T> {
    batch_statistics: bool,
    samples: usize,
    mean: Vec<T>,
    var: Vec<T>,
    inv_std: Vec<T>,
}

/// The one-sample tape of a [`BatchNorm`]: as the minibatch one, for a batch of one sample.
#[derive(Debug, Clone)]
pub struct BatchNormSampleTape<T: Scalar, const C: usize> {
    batch_statistics: bool,
    mean: SVector<T, C>,
    inv_std: SVector<T, C>,
}

impl<const C: usize, const N: usize, T: Scalar> Takes<N> for BatchNorm<C, N, T> {}

/// Per channel of `x` (samples of `N` values, `S` per channel): the mean and biased
/// variance over all samples, two passes for accuracy.
fn channel_statistics<T: Scalar>(
    x: &[T],
    n: usize,
    s: usize,
    c: usize,
    mean: &mut [T],
    var: &mut [T],
) {
    let samples = x.len() / n.max(1);
    let m = T::of((samples * s).max(1) as f64);
    for k in 0..c {
        let values = || {
            x.chunks_exact(n)
                .flat_map(move |sample| &sample[k * s..(k + 1) * s])
        };
        let mu = values().fold(T::zero(), |a, &v| a + v) / m;
        let sq = values().fold(T::zero(), |a, &v| a + (v - mu) * (v - mu));
        mean[k] = mu;
        var[k] = sq / m;
    }
}

impl<const C: usize, const N: usize, T: Scalar> Layer<T, N, N> for BatchNorm<C, N, T> {
    type Tape = BatchNormSampleTape<T, C>;

    fn forward_tape(&self, x: &SVector<T, N>) -> (SVector<T, N>, Self::Tape) {
        let s = Self::SPATIAL;
        let mut tape = BatchNormSampleTape {
            batch_statistics: self.training,
            mean: self.running_mean,
            inv_std: SVector::from_fn(|c, _| self.running_inv_std(c)),
        };
        if self.training {
            let (mut mean, mut var) = ([T::zero(); C], [T::zero(); C]);
            channel_statistics(x.as_slice(), N, s, C, &mut mean, &mut var);
            for c in 0..C {
                tape.mean[c] = mean[c];
                tape.inv_std[c] = T::one() / (var[c] + T::of(self.eps)).sqrt();
            }
        }
        let y = SVector::from_fn(|i, _| {
            let c = i / s;
            (x[i] - tape.mean[c]) * tape.inv_std[c] * self.weight[c] + self.bias[c]
        });
        (y, tape)
    }

    #[inline(always)]
    fn forward_untaped(&self, x: &SVector<T, N>) -> SVector<T, N> {
        if self.training {
            return self.forward_tape(x).0;
        }
        let s = Self::SPATIAL;
        SVector::from_fn(|i, _| {
            let c = i / s;
            (x[i] - self.running_mean[c]) * self.running_inv_std(c) * self.weight[c] + self.bias[c]
        })
    }

    fn backward(
        &mut self,
        x: &SVector<T, N>,
        _y: &SVector<T, N>,
        dy: &SVector<T, N>,
        tape: &Self::Tape,
    ) -> SVector<T, N> {
        let mut dx = SVector::<T, N>::zeros();
        let (mut mean, mut var) = ([T::zero(); C], [T::zero(); C]);
        mean.copy_from_slice(tape.mean.as_slice());
        self.backward_core(
            x.as_slice(),
            dy.as_slice(),
            Some(dx.as_mut_slice()),
            tape.batch_statistics,
            &mean,
            tape.inv_std.as_slice(),
        );
        if tape.batch_statistics {
            channel_statistics(x.as_slice(), N, Self::SPATIAL, C, &mut mean, &mut var);
            self.track(&mean, &var, Self::SPATIAL);
        }
        dx
    }

    fn forward_batch(&self, x: &Batch<T, N>, y: &mut Batch<T, N>, tape: &mut DynTape) {
        let s = Self::SPATIAL;
        ensure_cols(y, x.ncols());
        let tape = tape.get_mut::<BatchNormTape<T>>();
        for v in [&mut tape.mean, &mut tape.var, &mut tape.inv_std] {
            v.resize(C, T::zero());
        }
        tape.batch_statistics = self.training;
        tape.samples = x.ncols();
        if self.training {
            channel_statistics(x.as_slice(), N, s, C, &mut tape.mean, &mut tape.var);
            for c in 0..C {
                tape.inv_std[c] = T::one() / (tape.var[c] + T::of(self.eps)).sqrt();
            }
        } else {
            for c in 0..C {
                tape.mean[c] = self.running_mean[c];
                tape.inv_std[c] = self.running_inv_std(c);
            }
        }
        let columns = x.as_slice().chunks_exact(N.max(1));
        for (yj, xj) in y.as_mut_slice().chunks_exact_mut(N.max(1)).zip(columns) {
            for c in 0..C {
                let scale = tape.inv_std[c] * self.weight[c];
                let (mu, beta) = (tape.mean[c], self.bias[c]);
                for (yv, &xv) in yj[c * s..(c + 1) * s].iter_mut().zip(&xj[c * s..]) {
                    *yv = (xv - mu) * scale + beta;
                }
            }
        }
    }

    fn backward_batch(
        &mut self,
        x: &Batch<T, N>,
        _y: &Batch<T, N>,
        dy: &Batch<T, N>,
        dx: Option<&mut Batch<T, N>>,
        tape: &mut DynTape,
    ) {
        assert_eq!(x.ncols(), dy.ncols(), "minibatch sizes differ");
        let tape = tape.get_mut::<BatchNormTape<T>>();
        let dx = dx.map(|dx| {
            ensure_cols(dx, x.ncols());
            dx.as_mut_slice()
        });
        self.backward_core(
            x.as_slice(),
            dy.as_slice(),
            dx,
            tape.batch_statistics,
            &tape.mean,
            &tape.inv_std,
        );
        if tape.batch_statistics {
            self.track(&tape.mean, &tape.var, tape.samples * Self::SPATIAL);
        }
    }

    fn describe(&self, at: &Path<'_>, f: &mut dyn FnMut(LayerInfo)) {
        let name = if C == N {
            format!("BatchNorm1d<{C}>")
        } else {
            format!("BatchNorm2d<{C}>")
        };
        f(LayerInfo {
            position: at.top(),
            name,
            inputs: N,
            outputs: N,
            params: 2 * C,
            input_dims: Vec::new(),
            output_dims: Vec::new(),
        });
    }

    crate::params! {
        weight: vector(weight, weight_grad);
        bias: vector(bias, bias_grad);
        running_mean: running(running_mean);
        running_var: running(running_var);
        num_batches_tracked: count(num_batches_tracked);
        mode: training(training);
    }

    crate::nn::layer::onnx_form! {
        |self, at, g| {
            crate::nn::onnx::forms::batch_norm(
                &mut |mut f| self.visit_params(at, &mut f),
                N,
                at,
                g,
                C,
                self.eps,
            )
        }
    }
}

impl<const C: usize, const N: usize, T: Scalar> BatchNorm<C, N, T> {
    /// The backward pass over samples of `N` values in `x` and `dy`: accumulates γ's and β's
    /// gradients and, when asked, writes the input gradient. With batch statistics (over
    /// `m` values per channel, `x̂` the normalised input, `g = γ·dy`):
    /// `dx = (1/σ)·(g − mean(g) − x̂·mean(g·x̂))`; with running statistics `dx = g/σ`.
    fn backward_core(
        &mut self,
        x: &[T],
        dy: &[T],
        mut dx: Option<&mut [T]>,
        batch_statistics: bool,
        mean: &[T],
        inv_std: &[T],
    ) {
        let s = Self::SPATIAL;
        let samples = x.len() / N.max(1);
        let m = T::of((samples * s).max(1) as f64);
        for c in 0..C {
            let (mu, inv) = (mean[c], inv_std[c]);
            let (mut sum_dy, mut sum_dy_xhat) = (T::zero(), T::zero());
            for (xj, dyj) in x.chunks_exact(N).zip(dy.chunks_exact(N)) {
                for (&xv, &d) in xj[c * s..(c + 1) * s].iter().zip(&dyj[c * s..]) {
                    sum_dy += d;
                    sum_dy_xhat += d * (xv - mu) * inv;
                }
            }
            self.weight_grad[c] += sum_dy_xhat;
            self.bias_grad[c] += sum_dy;
            let Some(dx) = dx.as_deref_mut() else {
                continue;
            };
            let gamma = self.weight[c];
            let (mean_dy, mean_dy_xhat) = if batch_statistics {
                (sum_dy / m, sum_dy_xhat / m)
            } else {
                (T::zero(), T::zero())
            };
            let chunks = x.chunks_exact(N).zip(dy.chunks_exact(N));
            for ((xj, dyj), dxj) in chunks.zip(dx.chunks_exact_mut(N)) {
                let values = xj[c * s..(c + 1) * s].iter().zip(&dyj[c * s..]);
                for ((&xv, &d), out) in values.zip(&mut dxj[c * s..(c + 1) * s]) {
                    let xhat = (xv - mu) * inv;
                    *out = gamma * inv * (d - mean_dy - xhat * mean_dy_xhat);
                }
            }
        }
    }
}

impl<const C: usize, const N: usize, T: Scalar> fmt::Debug for BatchNorm<C, N, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(&short_type_name(core::any::type_name::<Self>()))
            .field("eps", &self.eps)
            .field("momentum", &self.momentum)
            .field("training", &self.training)
            .field("num_batches_tracked", &self.num_batches_tracked())
            .finish()
    }
}

/// Layer normalisation over the `N` features of each sample:
/// `y = γ·(x − μ)/√(σ² + ε) + β`, with the mean and biased variance of the sample's own
/// features, the same in training and evaluation. PyTorch's `LayerNorm(N)` (`ε = 10⁻⁵`,
/// learned `weight` γ = 1 and `bias` β = 0 at the start, neither decayed).
///
/// # Example
/// ```
/// use constnet::nn::{Layer, LayerNorm};
/// use constnet::nalgebra::SVector;
///
/// let ln = LayerNorm::<4, f64>::new();
/// let y = ln.forward(&SVector::from([1.0, 2.0, 3.0, 4.0]));
/// assert!(y.sum().abs() < 1e-12); // mean 0
/// assert!((y.norm_squared() / 4.0 - 1.0).abs() < 1e-4); // variance 1 (up to ε)
/// ```
#[derive(Clone)]
pub struct LayerNorm<const N: usize, T: Scalar = f32> {
    weight: SVector<T, N>,
    bias: SVector<T, N>,
    weight_grad: SVector<T, N>,
    bias_grad: SVector<T, N>,
    eps: f64,
}

impl<const N: usize, T: Scalar> Default for LayerNorm<N, T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize, T: Scalar> LayerNorm<N, T> {
    /// γ = 1, β = 0, `ε = 10⁻⁵`.
    pub fn new() -> Self {
        LayerNorm {
            weight: SVector::repeat(T::one()),
            bias: SVector::zeros(),
            weight_grad: SVector::zeros(),
            bias_grad: SVector::zeros(),
            eps: 1e-5,
        }
    }

    /// Sets ε, added to the variance before its square root.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] unless `ε` is finite and `> 0`.
    pub fn eps(mut self, eps: f64) -> Result<Self, Error> {
        if !(eps.is_finite() && eps > 0.0) {
            return Err(Error::InvalidHyperparameter {
                name: "layer norm epsilon",
                value: eps,
                expected: "> 0",
            });
        }
        self.eps = eps;
        Ok(self)
    }

    /// The learned scale γ.
    pub fn weight(&self) -> &SVector<T, N> {
        &self.weight
    }

    /// The learned shift β.
    pub fn bias(&self) -> &SVector<T, N> {
        &self.bias
    }
}

/// The one-sample tape of a [`LayerNorm`]: the normalised input `x̂` and `1/√(σ² + ε)`.
#[derive(Debug, Clone)]
pub struct LayerNormTape<T: Scalar, const N: usize> {
    xhat: SVector<T, N>,
    inv_std: T,
}

impl<const N: usize, T: Scalar> Takes<N> for LayerNorm<N, T> {}

impl<const N: usize, T: Scalar> Layer<T, N, N> for LayerNorm<N, T> {
    type Tape = LayerNormTape<T, N>;

    fn forward_tape(&self, x: &SVector<T, N>) -> (SVector<T, N>, Self::Tape) {
        let (mut mean, mut var) = ([T::zero()], [T::zero()]);
        channel_statistics(x.as_slice(), N, N, 1, &mut mean, &mut var);
        let inv_std = T::one() / (var[0] + T::of(self.eps)).sqrt();
        let xhat = x.map(|v| (v - mean[0]) * inv_std);
        let y = xhat.component_mul(&self.weight) + self.bias;
        (y, LayerNormTape { xhat, inv_std })
    }

    /// `g = γ·dy`, `dx = (1/σ)·(g − mean(g) − x̂·mean(g·x̂))`.
    fn backward(
        &mut self,
        _x: &SVector<T, N>,
        _y: &SVector<T, N>,
        dy: &SVector<T, N>,
        tape: &Self::Tape,
    ) -> SVector<T, N> {
        self.weight_grad += dy.component_mul(&tape.xhat);
        self.bias_grad += dy;
        let g = dy.component_mul(&self.weight);
        let n = T::of(N.max(1) as f64);
        let mean_g = g.sum() / n;
        let mean_g_xhat = g.dot(&tape.xhat) / n;
        SVector::from_fn(|i, _| tape.inv_std * (g[i] - mean_g - tape.xhat[i] * mean_g_xhat))
    }

    fn describe(&self, at: &Path<'_>, f: &mut dyn FnMut(LayerInfo)) {
        f(LayerInfo {
            position: at.top(),
            name: format!("LayerNorm<{N}>"),
            inputs: N,
            outputs: N,
            params: 2 * N,
            input_dims: Vec::new(),
            output_dims: Vec::new(),
        });
    }

    crate::params! {
        weight: vector(weight, weight_grad);
        bias: vector(bias, bias_grad);
    }

    crate::nn::layer::onnx_form! {
        |self, at, g| {
            crate::nn::onnx::forms::layer_norm(
                &mut |mut f| self.visit_params(at, &mut f),
                N,
                at,
                g,
                self.eps,
            )
        }
    }
}

impl<const N: usize, T: Scalar> fmt::Debug for LayerNorm<N, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(&short_type_name(core::any::type_name::<Self>()))
            .field("eps", &self.eps)
            .finish()
    }
}

/// `Serialize` and `Deserialize` (feature `serde`): `BatchNorm` as
/// `{"channels", "weight", "bias", "running_mean", "running_var", "num_batches_tracked", "eps",
/// "momentum"}`, `LayerNorm` as `{"weight", "bias", "eps"}`; reading checks the lengths against
/// the type, that every value is finite (variances non-negative) and the hyperparameters'
/// ranges, and fails with an error naming the layer, never a panic.
#[cfg(feature = "serde")]
mod serde_impls {
    use super::*;
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(rename = "BatchNorm")]
    struct BatchNormRepr<T> {
        channels: usize,
        weight: Vec<T>,
        bias: Vec<T>,
        running_mean: Vec<T>,
        running_var: Vec<T>,
        num_batches_tracked: u64,
        eps: f64,
        momentum: Option<f64>,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(rename = "LayerNorm")]
    struct LayerNormRepr<T> {
        weight: Vec<T>,
        bias: Vec<T>,
        eps: f64,
    }

    /// `values` as a vector of `N`, if there are `N` of them, all finite.
    fn vector<T: Scalar, const N: usize>(
        layer: &str,
        name: &str,
        values: &[T],
    ) -> Result<SVector<T, N>, String> {
        if values.len() != N {
            return Err(format!(
                "{layer}: {name} has {} values, expected {N}",
                values.len()
            ));
        }
        if let Some(i) = values.iter().position(|v| !v.finite()) {
            return Err(format!("{layer}: {name}[{i}] is not finite"));
        }
        Ok(SVector::from_column_slice(values))
    }

    impl<const C: usize, const N: usize, T: Scalar + Serialize> Serialize for BatchNorm<C, N, T> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            BatchNormRepr {
                channels: C,
                weight: self.weight.as_slice().to_vec(),
                bias: self.bias.as_slice().to_vec(),
                running_mean: self.running_mean.as_slice().to_vec(),
                running_var: self.running_var.as_slice().to_vec(),
                num_batches_tracked: self.num_batches_tracked(),
                eps: self.eps,
                momentum: self.momentum,
            }
            .serialize(serializer)
        }
    }

    impl<'de, const C: usize, const N: usize, T: Scalar + Deserialize<'de>> Deserialize<'de>
        for BatchNorm<C, N, T>
    {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            let repr = BatchNormRepr::<T>::deserialize(deserializer)?;
            let layer = format!("BatchNorm<{C}, {N}>");
            let read = || -> Result<Self, String> {
                if repr.channels != C {
                    return Err(format!("{layer}: {} channels, expected {C}", repr.channels));
                }
                let mut bn = BatchNorm::<C, N, T>::new()
                    .eps(repr.eps)
                    .and_then(|bn| bn.momentum(repr.momentum))
                    .map_err(|e| format!("{layer}: {e}"))?;
                bn.weight = vector(&layer, "weight", &repr.weight)?;
                bn.bias = vector(&layer, "bias", &repr.bias)?;
                bn.running_mean = vector(&layer, "running_mean", &repr.running_mean)?;
                bn.running_var = vector(&layer, "running_var", &repr.running_var)?;
                if bn.running_var.iter().any(|&v| v < T::zero()) {
                    return Err(format!("{layer}: a running variance is negative"));
                }
                bn.num_batches_tracked = [T::of(repr.num_batches_tracked as f64)];
                Ok(bn)
            };
            read().map_err(D::Error::custom)
        }
    }

    impl<const N: usize, T: Scalar + Serialize> Serialize for LayerNorm<N, T> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            LayerNormRepr {
                weight: self.weight.as_slice().to_vec(),
                bias: self.bias.as_slice().to_vec(),
                eps: self.eps,
            }
            .serialize(serializer)
        }
    }

    impl<'de, const N: usize, T: Scalar + Deserialize<'de>> Deserialize<'de> for LayerNorm<N, T> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            let repr = LayerNormRepr::<T>::deserialize(deserializer)?;
            let layer = format!("LayerNorm<{N}>");
            let read = || -> Result<Self, String> {
                let mut ln = LayerNorm::<N, T>::new()
                    .eps(repr.eps)
                    .map_err(|e| format!("{layer}: {e}"))?;
                ln.weight = vector(&layer, "weight", &repr.weight)?;
                ln.bias = vector(&layer, "bias", &repr.bias)?;
                Ok(ln)
            };
            read().map_err(D::Error::custom)
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn norm_layers_round_trip_and_refuse_bad_values() {
            let mut bn = BatchNorm2d::<2, 6, f64>::new().momentum(None).unwrap();
            bn.running_mean[1] = 0.25;
            bn.num_batches_tracked = [7.0];
            let json = serde_json::to_string(&bn).unwrap();
            let back: BatchNorm2d<2, 6, f64> = serde_json::from_str(&json).unwrap();
            assert_eq!(back.running_mean, bn.running_mean);
            assert_eq!((back.num_batches_tracked(), back.momentum), (7, None));
            let err = serde_json::from_str::<BatchNorm2d<3, 6, f64>>(&json).unwrap_err();
            assert!(err.to_string().contains("2 channels, expected 3"), "{err}");
            let negative = json.replace("\"running_var\":[1.0", "\"running_var\":[-1.0");
            let err = serde_json::from_str::<BatchNorm2d<2, 6, f64>>(&negative).unwrap_err();
            assert!(err.to_string().contains("negative"), "{err}");
            let ln = LayerNorm::<3, f64>::new();
            let json = serde_json::to_string(&ln).unwrap();
            let back: LayerNorm<3, f64> = serde_json::from_str(&json).unwrap();
            assert_eq!(back.weight, ln.weight);
            assert!(serde_json::from_str::<LayerNorm<4, f64>>(&json).is_err());
        }
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use crate::nn::layers::reference::norm::*;
    use crate::nn::layers::reference::{dy_at, w_at, x_at};
    use crate::train::gradcheck::{check_layer, check_layer_training};

    fn batch<const N: usize>(samples: usize, offset: usize) -> Batch<f64, N> {
        Batch::from_fn(samples, |r, c| x_at(c * N + r + offset))
    }

    fn assert_close(what: &str, ours: &[f64], torch: &[f64]) {
        assert_eq!(ours.len(), torch.len(), "{what}");
        for (i, (a, b)) in ours.iter().zip(torch).enumerate() {
            assert!((a - b).abs() < 1e-12, "{what}[{i}]: {a} vs PyTorch {b}");
        }
    }

    fn affine<const C: usize>(weight: &mut SVector<f64, C>, bias: &mut SVector<f64, C>) {
        for c in 0..C {
            weight[c] = 1.0 + 0.25 * w_at(c);
            bias[c] = 0.5 * x_at(c + 3);
        }
    }

    /// The PyTorch case of `tests/pytorch/norm_reference.py`: a training step on the first
    /// batch (outputs and gradients), two more batches (running statistics), then evaluation
    /// mode on the first batch.
    #[allow(clippy::too_many_arguments)]
    fn batch_norm_case<const C: usize, const N: usize>(
        mut bn: BatchNorm<C, N, f64>,
        samples: usize,
        y: &[f64],
        dx: &[f64],
        dw: &[f64],
        db: &[f64],
        running: (&[f64], &[f64], u64),
        eval: (&[f64], &[f64]),
    ) {
        affine(&mut bn.weight, &mut bn.bias);
        bn.set_training(true);
        let x = batch::<N>(samples, 0);
        let dy = Batch::<f64, N>::from_fn(samples, |r, c| dy_at(c * N + r));
        let (mut out, mut grad, mut tape) = (Batch::zeros(0), Batch::zeros(0), DynTape::default());
        bn.forward_batch(&x, &mut out, &mut tape);
        bn.backward_batch(&x, &out, &dy, Some(&mut grad), &mut tape);
        assert_close("y", out.as_slice(), y);
        assert_close("dx", grad.as_slice(), dx);
        assert_close("dweight", bn.weight_grad.as_slice(), dw);
        assert_close("dbias", bn.bias_grad.as_slice(), db);
        for offset in [17, 29] {
            let x = batch::<N>(samples, offset);
            bn.forward_batch(&x, &mut out, &mut tape);
            bn.backward_batch(&x, &out, &dy, None, &mut tape);
        }
        assert_close("running_mean", bn.running_mean.as_slice(), running.0);
        assert_close("running_var", bn.running_var.as_slice(), running.1);
        assert_eq!(bn.num_batches_tracked(), running.2);
        bn.set_training(false);
        bn.forward_batch(&x, &mut out, &mut tape);
        bn.backward_batch(&x, &out, &dy, Some(&mut grad), &mut tape);
        assert_close("eval y", out.as_slice(), eval.0);
        assert_close("eval dx", grad.as_slice(), eval.1);
        // One sample in evaluation mode: the same values, column by column.
        for j in 0..samples {
            let one = bn.forward(&x.column(j).into_owned());
            assert_close("eval one sample", one.as_slice(), &eval.0[j * N..][..N]);
        }
    }

    #[test]
    fn batch_norm_1d_equals_pytorch_in_training_and_evaluation() {
        batch_norm_case(
            BatchNorm1d::<3, f64>::new(),
            4,
            &BN1_Y,
            &BN1_DX,
            &BN1_DW,
            &BN1_DB,
            (&BN1_RUNNING_MEAN, &BN1_RUNNING_VAR, BN1_BATCHES),
            (&BN1_EVAL_Y, &BN1_EVAL_DX),
        );
        batch_norm_case(
            BatchNorm1d::<3, f64>::new().momentum(None).unwrap(),
            4,
            &BN1_CUMULATIVE_Y,
            &BN1_CUMULATIVE_DX,
            &BN1_CUMULATIVE_DW,
            &BN1_CUMULATIVE_DB,
            (
                &BN1_CUMULATIVE_RUNNING_MEAN,
                &BN1_CUMULATIVE_RUNNING_VAR,
                BN1_CUMULATIVE_BATCHES,
            ),
            (&BN1_CUMULATIVE_EVAL_Y, &BN1_CUMULATIVE_EVAL_DX),
        );
    }

    #[test]
    fn batch_norm_2d_equals_pytorch_in_training_and_evaluation() {
        batch_norm_case(
            BatchNorm2d::<2, 12, f64>::new(),
            3,
            &BN2_Y,
            &BN2_DX,
            &BN2_DW,
            &BN2_DB,
            (&BN2_RUNNING_MEAN, &BN2_RUNNING_VAR, BN2_BATCHES),
            (&BN2_EVAL_Y, &BN2_EVAL_DX),
        );
    }

    #[test]
    fn layer_norm_equals_pytorch() {
        let mut ln = LayerNorm::<5, f64>::new();
        affine(&mut ln.weight, &mut ln.bias);
        let x = batch::<5>(3, 0);
        let dy = Batch::<f64, 5>::from_fn(3, |r, c| dy_at(c * 5 + r));
        let (mut out, mut grad, mut tape) = (Batch::zeros(0), Batch::zeros(0), DynTape::default());
        ln.forward_batch(&x, &mut out, &mut tape);
        ln.backward_batch(&x, &out, &dy, Some(&mut grad), &mut tape);
        assert_close("y", out.as_slice(), &LN_Y);
        assert_close("dx", grad.as_slice(), &LN_DX);
        assert_close("dweight", ln.weight_grad.as_slice(), &LN_DW);
        assert_close("dbias", ln.bias_grad.as_slice(), &LN_DB);
    }

    #[test]
    fn gradients_match_central_differences() {
        let mut bn = BatchNorm1d::<3, f64>::new();
        affine(&mut bn.weight, &mut bn.bias);
        check_layer_training(bn.clone(), 5, 1).unwrap();
        // Evaluation mode: an affine map of each sample, checked as any layer.
        bn.running_mean = SVector::from([0.3, -0.2, 0.1]);
        bn.running_var = SVector::from([0.5, 2.0, 1.5]);
        check_layer(bn, 4, 2).unwrap();
        let mut bn2 = BatchNorm2d::<2, 8, f64>::new();
        affine(&mut bn2.weight, &mut bn2.bias);
        check_layer_training(bn2.clone(), 3, 3).unwrap();
        check_layer(bn2, 3, 4).unwrap();
        let mut ln = LayerNorm::<6, f64>::new();
        affine(&mut ln.weight, &mut ln.bias);
        check_layer(ln, 4, 5).unwrap();
    }

    #[test]
    fn one_sample_passes_agree_with_a_batch_of_one() {
        let mut a = BatchNorm2d::<2, 6, f64>::new();
        affine(&mut a.weight, &mut a.bias);
        a.set_training(true);
        let mut b = a.clone();
        let x = batch::<6>(1, 4);
        let dy = Batch::<f64, 6>::from_fn(1, |r, _| dy_at(r));
        let (y, tape) = a.forward_tape(&x.column(0).into_owned());
        let dx = a.backward(
            &x.column(0).into_owned(),
            &y,
            &dy.column(0).into_owned(),
            &tape,
        );
        let (mut yb, mut dxb, mut t) = (Batch::zeros(0), Batch::zeros(0), DynTape::default());
        b.forward_batch(&x, &mut yb, &mut t);
        b.backward_batch(&x, &yb, &dy, Some(&mut dxb), &mut t);
        assert_close("y", y.as_slice(), yb.as_slice());
        assert_close("dx", dx.as_slice(), dxb.as_slice());
        assert_close(
            "running_var",
            a.running_var.as_slice(),
            b.running_var.as_slice(),
        );
        assert_eq!(a.num_batches_tracked(), 1);
    }

    #[test]
    fn running_statistics_are_buffers_saved_but_not_learned() {
        let bn = BatchNorm1d::<4>::new();
        let mut seen = Vec::new();
        bn.visit_params(&Path::ROOT, &mut |p| {
            seen.push((p.full_name().to_string(), p.role, p.shape.dims(), p.decay))
        });
        use crate::nn::param::Role::*;
        assert_eq!(
            seen,
            [
                ("0.weight".to_string(), Learned, vec![4], false),
                ("0.bias".to_string(), Learned, vec![4], false),
                ("0.running_mean".to_string(), Running, vec![4], false),
                ("0.running_var".to_string(), Running, vec![4], false),
                ("0.num_batches_tracked".to_string(), Count, vec![], false),
            ]
        );
        assert_eq!(bn.num_params(), 8);
    }

    #[test]
    fn hyperparameters_out_of_range_are_errors() {
        assert!(BatchNorm1d::<2>::new().eps(0.0).is_err());
        assert!(BatchNorm1d::<2>::new().momentum(Some(1.5)).is_err());
        assert!(BatchNorm1d::<2>::new().momentum(Some(f64::NAN)).is_err());
        assert!(LayerNorm::<2>::new().eps(f64::NAN).is_err());
    }
}
