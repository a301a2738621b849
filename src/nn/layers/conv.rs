//! Convolutions whose geometry is part of their type: [`Conv2d`] over images and [`Conv1d`]
//! over signals.

use core::fmt;

use nalgebra::SVector;
use rand::Rng;

use crate::alloc_prelude::*;
use crate::base::disjoint::{DisjointParts, DisjointRows};
use crate::base::linalg::{ensure_cols, gemm_strided, split_into};
use crate::base::names::short_type_name;
use crate::base::threads::run_parts;
use crate::nn::layer::{DynTape, LayerInfo};
use crate::nn::layers::implicit::{
    FUSED_MULTIPLY_ADD, Padded, ROUNDED, add_by_tap, by_tap, convolve, filter_grad, filters_padded,
    flip, pad, taps_len, transpose, transposed,
};
use crate::nn::layers::window::{Geometry, col2im, conv_backward, conv_forward};
use crate::nn::param::{Param, ParamMut, Path, Shape};
use crate::{base::linalg::Batch, base::scalar::Scalar, error::Error, nn::init::Init};

/// The weights of a convolution and what its passes share, for [`Conv2d`] and [`Conv1d`].
pub(crate) struct ConvCore<T: Scalar> {
    /// PyTorch's `[f, c, kh, kw]` (or `[f, c, k]`), row-major.
    weight: Box<[T]>,
    weight_grad: Box<[T]>,
    /// Empty without a bias.
    bias: Box<[T]>,
    bias_grad: Box<[T]>,
}

impl<T: Scalar> Clone for ConvCore<T> {
    fn clone(&self) -> Self {
        ConvCore {
            weight: self.weight.clone(),
            weight_grad: self.weight_grad.clone(),
            bias: self.bias.clone(),
            bias_grad: self.bias_grad.clone(),
        }
    }
}

/// What the minibatch passes of a convolution reuse: a buffer per thread (a padded sample
/// and output gradient, or a block of input gradients), and the filters tap by tap (flipped
/// for the input gradient).
#[derive(Default)]
struct ConvTape<T> {
    scratch: Vec<T>,
    taps: Vec<T>,
}

/// `v` holds exactly `len` values, reallocating only when the size changes.
fn resize<T: Scalar>(v: &mut Vec<T>, len: usize) {
    if v.len() != len {
        v.clear();
        v.resize(len, T::zero());
    }
}

impl<T: Scalar> ConvCore<T> {
    fn zeros(g: &Geometry, bias: bool) -> Self {
        let weights = g.f * g.patch();
        let biases = if bias { g.f } else { 0 };
        ConvCore {
            weight: vec![T::zero(); weights].into_boxed_slice(),
            weight_grad: vec![T::zero(); weights].into_boxed_slice(),
            bias: vec![T::zero(); biases].into_boxed_slice(),
            bias_grad: vec![T::zero(); biases].into_boxed_slice(),
        }
    }

    /// Weights drawn by `init` in PyTorch's order, with fan-in `c·kh·kw` and fan-out
    /// `f·kh·kw`; a zero bias.
    fn new<R: Rng + ?Sized>(g: &Geometry, bias: bool, init: Init, rng: &mut R) -> Self {
        let mut core = Self::zeros(g, bias);
        let (fan_in, fan_out) = (g.patch(), g.f * g.kh * g.kw);
        for w in core.weight.iter_mut() {
            *w = T::of(init.sample(fan_in, fan_out, rng));
        }
        core
    }

    fn from_weights(g: &Geometry, has_bias: bool, weight: &[T], bias: &[T]) -> Result<Self, Error> {
        let mut core = Self::zeros(g, has_bias);
        check_len("weights", core.weight.len(), weight.len())?;
        check_len("biases", core.bias.len(), bias.len())?;
        for (what, values) in [("weights", weight), ("biases", bias)] {
            if let Some(at) = values.iter().position(|v| !v.finite()) {
                return Err(Error::NonFiniteParameter {
                    tensor: what.to_string(),
                    row: at,
                    column: 0,
                    epoch: None,
                });
            }
        }
        core.weight.copy_from_slice(weight);
        core.bias.copy_from_slice(bias);
        Ok(core)
    }

    fn bias(&self) -> Option<&[T]> {
        (!self.bias.is_empty()).then_some(&self.bias[..])
    }

    fn forward(&self, g: &Geometry, x: &[T], y: &mut [T]) {
        conv_forward(g, &self.weight, self.bias(), x, y);
    }

    fn backward(&mut self, g: &Geometry, x: &[T], dy: &[T], dx: Option<&mut [T]>) {
        let bias_grad = (!self.bias_grad.is_empty()).then_some(&mut self.bias_grad[..]);
        conv_backward(
            g,
            &self.weight,
            x,
            dy,
            Some(&mut self.weight_grad),
            bias_grad,
            dx,
        );
    }

    fn forward_batch(&self, g: &Geometry, x: &[T], y: &mut [T], tape: &mut DynTape) {
        forward_batch(g, &self.weight, self.bias(), x, y, tape);
    }

    /// The minibatch backward pass: `∂L/∂b += Σ dY`; `∂L/∂W` summed in registers over each
    /// sample's positions ([`filter_grad`]: the taps shared between the threads, each going
    /// through the samples in order); and `∂L/∂x` by [`input_grad_batch`].
    #[allow(clippy::too_many_arguments)]
    fn backward_batch(
        &mut self,
        g: &Geometry,
        inputs: usize,
        outputs: usize,
        x: &[T],
        dy: &[T],
        dx: Option<&mut [T]>,
        tape: &mut DynTape,
    ) {
        let n = dy.len() / outputs;
        let tape = tape.get_mut::<ConvTape<T>>();
        let (positions, patch) = (g.positions(), g.patch());
        let block = patch * positions;
        // The filter gradient: the taps shared between the threads, each going through the
        // samples in order.
        let layout = Padded::of(g);
        let wide = g.positions() * filters_padded(g);
        let parts = split_into(n * g.f * block, patch);
        let sums = patch.div_ceil(parts) * filters_padded(g);
        let per_part = layout.len(g) + wide + sums;
        resize(&mut tape.scratch, parts * per_part);
        let grads = DisjointRows::new(&mut self.weight_grad, patch, parts);
        let scratch = DisjointParts::new(&mut tape.scratch, per_part, parts);
        // The bias gradient: summed by the first part, as it transposes the output gradient.
        let bias_len = self.bias_grad.len().max(1);
        let biases = DisjointParts::new(&mut self.bias_grad, bias_len, 1);
        run_parts(parts, &|k| {
            let (mut grad, buffer, taps) = (grads.take(k), scratch.take(k), grads.rows(k));
            let mut bias = (k == 0).then(|| biases.take(0)).filter(|b| !b.is_empty());
            let (xp, rest) = buffer.split_at_mut(layout.len(g));
            let (dyw, sums) = rest.split_at_mut(wide);
            sums.fill(T::zero());
            xp.fill(T::zero()); // the padding of `pad`
            dyw.fill(T::zero()); // the padding filters of `transpose`
            for (xj, dyj) in x.chunks_exact(inputs).zip(dy.chunks_exact(outputs)) {
                pad(g, layout, xj, xp);
                transpose(g, dyj, dyw, bias.as_deref_mut());
                filter_grad(g, layout, xp, dyw, taps.clone(), sums);
            }
            add_by_tap(g, sums, &mut grad, taps);
        });
        if let Some(dx) = dx {
            input_grad_batch(g, &self.weight, dy, dx, tape);
        }
    }

    fn visit<F: FnMut(Param<'_, T>)>(&self, weight: Shape, at: &Path<'_>, f: &mut F) {
        f(Param {
            path: at,
            name: "weight",
            decay: true,
            role: crate::nn::param::Role::Learned,
            shape: weight,
            value: &self.weight,
        });
        if !self.bias.is_empty() {
            let shape = Shape::Vector(self.bias.len());
            f(Param {
                path: at,
                name: "bias",
                decay: false,
                role: crate::nn::param::Role::Learned,
                shape,
                value: &self.bias,
            });
        }
    }

    fn visit_mut<F: FnMut(ParamMut<'_, T>)>(&mut self, weight: Shape, at: &Path<'_>, f: &mut F) {
        f(ParamMut {
            path: at,
            name: "weight",
            decay: true,
            role: crate::nn::param::Role::Learned,
            shape: weight,
            value: &mut self.weight,
            grad: &mut self.weight_grad,
        });
        if !self.bias.is_empty() {
            f(ParamMut {
                path: at,
                name: "bias",
                decay: false,
                role: crate::nn::param::Role::Learned,
                shape: Shape::Vector(self.bias.len()),
                value: &mut self.bias,
                grad: &mut self.bias_grad,
            });
        }
    }
}

/// The minibatch forward pass of a convolution: each sample copied with its zero padding,
/// then convolved in registers ([`convolve`]). Samples are shared between the threads; each
/// is computed the same way on any thread count, and gives the one-sample pass's values.
pub(crate) fn forward_batch<T: Scalar>(
    g: &Geometry,
    weight: &[T],
    bias: Option<&[T]>,
    x: &[T],
    y: &mut [T],
    tape: &mut DynTape,
) {
    let (inputs, outputs) = (g.c * g.plane(), g.f * g.positions());
    let n = x.len() / inputs;
    let tape = tape.get_mut::<ConvTape<T>>();
    let layout = Padded::of(g);
    let work = n * g.f * g.patch() * g.positions();
    let parts = split_into(work, n);
    resize(&mut tape.scratch, parts * layout.len(g));
    resize(&mut tape.taps, taps_len(g));
    by_tap(g, weight, &mut tape.taps);
    let ys = DisjointParts::new(y, outputs, parts);
    let scratch = DisjointParts::new(&mut tape.scratch, layout.len(g), parts);
    let taps = &tape.taps[..];
    run_parts(parts, &|k| {
        let (y, xp, samples) = (ys.take(k), scratch.take(k), ys.items(k));
        xp.fill(T::zero()); // the padding of `pad`
        for (yj, j) in y.chunks_exact_mut(outputs).zip(samples) {
            pad(g, layout, &x[j * inputs..][..inputs], xp);
            convolve(ROUNDED, g, layout, taps, bias, xp, yj);
        }
    });
}

/// The input gradient of a convolution over a minibatch: the convolution of the padded `dY`
/// with the flipped filters for stride 1 ([`transposed`]), else `Wᵀ·dY` folded back
/// ([`col2im`]); samples shared between the threads.
fn input_grad_batch<T: Scalar>(
    g: &Geometry,
    weight: &[T],
    dy: &[T],
    dx: &mut [T],
    tape: &mut ConvTape<T>,
) {
    let (inputs, outputs) = (g.c * g.plane(), g.f * g.positions());
    let (positions, patch) = (g.positions(), g.patch());
    let block = patch * positions;
    let n = dy.len() / outputs;
    let parts = split_into(n * g.f * block, n);
    let transposed = transposed(g);
    let layout = transposed.as_ref().map(Padded::of);
    let per_part = match (&transposed, layout) {
        (Some(t), Some(layout)) => layout.len(t),
        _ => block,
    };
    resize(&mut tape.scratch, parts * per_part);
    if let Some(t) = &transposed {
        resize(&mut tape.taps, taps_len(t));
        flip(g, weight, &mut tape.taps);
    }
    let dxs = DisjointParts::new(dx, inputs, parts);
    let scratch = DisjointParts::new(&mut tape.scratch, per_part, parts);
    let flipped = &tape.taps[..];
    run_parts(parts, &|k| {
        let (dx, buffer, samples) = (dxs.take(k), scratch.take(k), dxs.items(k));
        if transposed.is_some() {
            buffer.fill(T::zero()); // the padding of `pad` (the product overwrites it all)
        }
        for (dxj, j) in dx.chunks_exact_mut(inputs).zip(samples) {
            let dyj = &dy[j * outputs..][..outputs];
            match (&transposed, layout) {
                (Some(t), Some(layout)) => {
                    pad(t, layout, dyj, buffer);
                    convolve(FUSED_MULTIPLY_ADD, t, layout, flipped, None, buffer, dxj);
                }
                _ => {
                    let dyj = (dyj, positions, 1);
                    gemm_strided(
                        patch,
                        g.f,
                        positions,
                        (weight, 1, patch),
                        dyj,
                        T::zero(),
                        buffer,
                        (positions, 1),
                    );
                    dxj.fill(T::zero());
                    col2im(g, buffer, dxj);
                }
            }
        }
    });
}

fn check_len(what: &'static str, expected: usize, found: usize) -> Result<(), Error> {
    if expected == found {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            what,
            expected,
            found,
        })
    }
}

/// The [`Layer`](crate::nn::Layer) of a convolution type: one-sample and minibatch passes
/// on its [`ConvCore`], its parameters and its description.
macro_rules! conv_layer {
    ($name:ident [$($params:tt)*] [$($args:tt)*]) => {
        impl<$($params)*, T: Scalar> crate::nn::Takes<I> for $name<$($args)*, B, T> {}

        impl<$($params)*, T: Scalar> crate::nn::Layer<T, I, O> for $name<$($args)*, B, T> {
            type Tape = ();

            #[inline]
            fn forward_tape(&self, x: &SVector<T, I>) -> (SVector<T, O>, ()) {
                let mut y = SVector::<T, O>::zeros();
                self.core.forward(&Self::GEOMETRY, x.as_slice(), y.as_mut_slice());
                (y, ())
            }

            #[inline]
            fn backward(&mut self, x: &SVector<T, I>, _: &SVector<T, O>, dy: &SVector<T, O>, _: &()) -> SVector<T, I> {
                let mut dx = SVector::<T, I>::zeros();
                self.core.backward(&Self::GEOMETRY, x.as_slice(), dy.as_slice(), Some(dx.as_mut_slice()));
                dx
            }

            fn forward_batch(&self, x: &Batch<T, I>, y: &mut Batch<T, O>, tape: &mut DynTape) {
                ensure_cols(y, x.ncols());
                self.core.forward_batch(&Self::GEOMETRY, x.as_slice(), y.as_mut_slice(), tape);
            }

            fn backward_batch(
                &mut self,
                x: &Batch<T, I>,
                _: &Batch<T, O>,
                dy: &Batch<T, O>,
                dx: Option<&mut Batch<T, I>>,
                tape: &mut DynTape,
            ) {
                assert_eq!(x.ncols(), dy.ncols(), "minibatch sizes differ");
                let dx = dx.map(|dx| {
                    ensure_cols(dx, x.ncols());
                    dx.as_mut_slice()
                });
                self.core.backward_batch(&Self::GEOMETRY, I, O, x.as_slice(), dy.as_slice(), dx, tape);
            }

            fn visit_params<V: FnMut(Param<'_, T>)>(&self, at: &Path<'_>, f: &mut V) {
                self.core.visit(Self::WEIGHT_SHAPE, at, f);
            }

            fn visit_params_mut<V: FnMut(ParamMut<'_, T>)>(&mut self, at: &Path<'_>, f: &mut V) {
                self.core.visit_mut(Self::WEIGHT_SHAPE, at, f);
            }

            fn visit_state(&mut self, _: &Path<'_>, _: &mut crate::nn::StateOp<'_>) {}

            crate::nn::layer::onnx_form! {
                |self, at, g| {
                    let dims = (Self::dims(false), Self::dims(true));
                    crate::nn::onnx::forms::conv(&mut |mut f| self.visit_params(at, &mut f), at, g, &Self::GEOMETRY, dims)
                }
            }

            fn describe(&self, at: &Path<'_>, f: &mut dyn FnMut(LayerInfo)) {
                let mut params = 0;
                self.visit_params(at, &mut |p| params += p.value.len());
                f(LayerInfo {
                    position: at.top(),
                    name: self.to_string(),
                    inputs: I,
                    outputs: O,
                    params,
                    input_dims: Self::dims(false),
                    output_dims: Self::dims(true),
                });
            }
        }

        impl<$($params)*, T: Scalar> Clone for $name<$($args)*, B, T> {
            fn clone(&self) -> Self {
                $name { core: self.core.clone() }
            }
        }

        impl<$($params)*, T: Scalar> fmt::Debug for $name<$($args)*, B, T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&short_type_name(core::any::type_name::<Self>()))
            }
        }

        impl<$($params)*, T: Scalar> $name<$($args)*, B, T> {
            /// A layer whose weights (and bias) are all zero.
            pub fn zeros() -> Self {
                $name { core: ConvCore::zeros(&Self::GEOMETRY, B) }
            }

            /// A layer with weights drawn by `init` from `rng` (fan-in `C·K·K`, fan-out
            /// `F·K·K`, in PyTorch's order) and a zero bias.
            pub fn new<R: Rng + ?Sized>(init: Init, rng: &mut R) -> Self {
                $name { core: ConvCore::new(&Self::GEOMETRY, B, init, rng) }
            }

            /// A layer with the given weights, in PyTorch's layout of its `weight` (row-major),
            /// and bias (empty without one).
            ///
            /// # Errors
            /// [`Error::LengthMismatch`] if either holds the wrong number of values;
            /// [`Error::NonFiniteParameter`] naming the tensor (`"weights"` or `"biases"`)
            /// and the position (as `row`) of a NaN or infinite value.
            pub fn from_weights(weight: &[T], bias: &[T]) -> Result<Self, Error> {
                Ok($name { core: ConvCore::from_weights(&Self::GEOMETRY, B, weight, bias)? })
            }

            /// The filters, in PyTorch's layout (row-major).
            pub fn weight(&self) -> &[T] {
                &self.core.weight
            }

            /// The filters, for editing in place.
            pub fn weight_mut(&mut self) -> &mut [T] {
                &mut self.core.weight
            }

            /// The bias, one value per output channel (empty without a bias).
            pub fn bias(&self) -> &[T] {
                &self.core.bias
            }

            /// The filters' gradient accumulated since the last optimizer step.
            pub fn weight_grad(&self) -> &[T] {
                &self.core.weight_grad
            }

            /// The bias gradient accumulated since the last optimizer step.
            pub fn bias_grad(&self) -> &[T] {
                &self.core.bias_grad
            }
        }
    };
}

/// A 2-D convolution (PyTorch's `nn.Conv2d`): `C` input channels of `H x W` to `F` output
/// channels, with `K x K` filters moved by stride `S` over the input padded by `P` zeros on
/// each side, and a bias per output channel unless `B` is `false`.
///
/// A sample is a flat vector in PyTorch's channel-major layout (`C x H x W`), so `I = C·H·W`
/// and `O = F·OH·OW` with `OH = (H + 2P − K) / S + 1` (rounded down, as in PyTorch: a stride
/// that does not reach the last rows and columns leaves them out) and the same for `OW`.
/// Stable Rust cannot compute `I` and `O` in a type, so they are parameters too; write the
/// network with [`Net!`](crate::Net), which works them out and checks every shape at
/// compile time with a message naming the layer and the arithmetic. A type written by hand
/// with the wrong `I` or `O` fails to compile when a layer of it is built.
///
/// The weights live on the heap in PyTorch's `[F, C, K, K]` layout and are saved under
/// PyTorch's names (`weight`, `bias`). One-sample passes are direct loops with no heap
/// allocation; minibatch passes unfold each sample (im2col) and multiply through
/// `matrixmultiply`, allocation-free after the first batch of a size, and give the same bits
/// on any number of threads.
///
/// # Example
/// ```
/// use constnet::{Net, nn::{Build, Layer, Conv2d, Relu, MaxPool2d, Flatten, Linear, summary}};
/// use constnet::rand::{SeedableRng, rngs::StdRng};
///
/// // 1x28x28 -> 8x24x24 -> 8x12x12 -> 1152 -> 10: every size below the input is worked out
/// // and checked by the compiler.
/// type Cnn = Net![Input<1, 28, 28>, Conv2d<1, 8, 5>, Relu, MaxPool2d<2>, Flatten, Linear<1152, 10>];
/// let net = Cnn::init(&mut StdRng::seed_from_u64(0));
/// let y = net.forward(&nalgebra::SVector::<f32, 784>::zeros());
/// assert_eq!(y.len(), 10);
/// assert_eq!(summary(&net).total_params(), 8 * 25 + 8 + 1152 * 10 + 10);
///
/// // By hand, each size is a parameter: in, out, kernel, stride, padding, H, W, I, O.
/// let conv = Conv2d::<1, 8, 5, 1, 0, 28, 28, 784, 4608>::zeros();
/// assert_eq!(conv.weight().len(), 8 * 1 * 5 * 5);
/// ```
///
/// A type written by hand with a wrong size fails to build (at `cargo build`; `cargo check`
/// does not evaluate it) with "`Conv2d` 1 -> 8, 5x5 on 1x28x28 gives 8x24x24 = 4608 values,
/// but its type says 784 -> 4600":
/// ```compile_fail,E0080
/// use constnet::nn::Conv2d;
/// let conv = Conv2d::<1, 8, 5, 1, 0, 28, 28, 784, 4600>::zeros();
/// ```
pub struct Conv2d<
    const C: usize,
    const F: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const H: usize,
    const W: usize,
    const I: usize,
    const O: usize,
    const B: bool = true,
    T: Scalar = f32,
> {
    core: ConvCore<T>,
}

impl<
    const C: usize,
    const F: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const H: usize,
    const W: usize,
    const I: usize,
    const O: usize,
    const B: bool,
    T: Scalar,
> Conv2d<C, F, K, S, P, H, W, I, O, B, T>
{
    /// The layer's geometry, checked against `I` and `O` when a layer of this type is built.
    pub(crate) const GEOMETRY: Geometry = {
        crate::nn::shape::check_conv(2, C, F, K, S, P, H, W, I, O);
        Geometry::square(C, F, K, S, P, H, W)
    };

    const WEIGHT_SHAPE: Shape = Shape::Tensor {
        dims: [F, C, K, K],
        rank: 4,
    };

    fn dims(output: bool) -> Vec<usize> {
        let g = Self::GEOMETRY;
        if output {
            vec![F, g.oh, g.ow]
        } else {
            vec![C, H, W]
        }
    }

    /// The summary row of a layer of this type with `params` parameters.
    fn describe_as(params: usize, at: &Path<'_>, f: &mut dyn FnMut(LayerInfo)) {
        f(LayerInfo {
            position: at.top(),
            name: format!("Conv2d({C} → {F}, {K}x{K}{})", option_text(S, P, B)),
            inputs: I,
            outputs: O,
            params,
            input_dims: Self::dims(false),
            output_dims: Self::dims(true),
        });
    }
}

impl<
    const C: usize,
    const F: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const H: usize,
    const W: usize,
    const I: usize,
    const O: usize,
    const B: bool,
    T: Scalar,
> fmt::Display for Conv2d<C, F, K, S, P, H, W, I, O, B, T>
{
    /// `Conv2d(1 → 8, 5x5)`, with the stride, padding and a missing bias when they are not
    /// the defaults.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Conv2d({C} → {F}, {K}x{K}")?;
        options(f, S, P, B)
    }
}

fn options(f: &mut fmt::Formatter<'_>, s: usize, p: usize, bias: bool) -> fmt::Result {
    write!(f, "{})", option_text(s, p, bias))
}

/// `, stride 2, padding 1, no bias`: what is not the default.
fn option_text(s: usize, p: usize, bias: bool) -> String {
    let mut text = String::new();
    if s != 1 {
        text.push_str(&format!(", stride {s}"));
    }
    if p != 0 {
        text.push_str(&format!(", padding {p}"));
    }
    if !bias {
        text.push_str(", no bias");
    }
    text
}

conv_layer!(Conv2d
    [const C: usize, const F: usize, const K: usize, const S: usize, const P: usize, const H: usize, const W: usize, const I: usize, const O: usize, const B: bool]
    [C, F, K, S, P, H, W, I, O]);

/// A 1-D convolution (PyTorch's `nn.Conv1d`): `C` input channels of length `L` to `F` output
/// channels, with filters of `K` moved by stride `S` over the input padded by `P` zeros at
/// each end, and a bias per output channel unless `B` is `false`.
///
/// Everything said of [`Conv2d`] holds with `H = 1`: `I = C·L`, `O = F·OL` with
/// `OL = (L + 2P − K) / S + 1`; [`Net!`](crate::Net) works the sizes out from
/// `Input<C, L>`. The weights are PyTorch's `[F, C, K]`.
///
/// # Example
/// ```
/// use constnet::{Net, nn::{Build, Layer, Conv1d, Relu, MaxPool1d, Flatten, Linear}};
/// use constnet::rand::{SeedableRng, rngs::StdRng};
///
/// // 2 channels of 64 samples -> 4x62 -> 4x31 -> 124 -> 3.
/// type Signal = Net![Input<2, 64>, Conv1d<2, 4, 3>, Relu, MaxPool1d<2>, Flatten, Linear<124, 3>];
/// let net = Signal::init(&mut StdRng::seed_from_u64(0));
/// assert_eq!(net.forward(&nalgebra::SVector::<f32, 128>::zeros()).len(), 3);
/// ```
pub struct Conv1d<
    const C: usize,
    const F: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const L: usize,
    const I: usize,
    const O: usize,
    const B: bool = true,
    T: Scalar = f32,
> {
    core: ConvCore<T>,
}

impl<
    const C: usize,
    const F: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const L: usize,
    const I: usize,
    const O: usize,
    const B: bool,
    T: Scalar,
> Conv1d<C, F, K, S, P, L, I, O, B, T>
{
    /// The layer's geometry, checked against `I` and `O` when a layer of this type is built.
    pub(crate) const GEOMETRY: Geometry = {
        crate::nn::shape::check_conv(1, C, F, K, S, P, 1, L, I, O);
        Geometry::line(C, F, K, S, P, L)
    };

    const WEIGHT_SHAPE: Shape = Shape::Tensor {
        dims: [F, C, K, 1],
        rank: 3,
    };

    fn dims(output: bool) -> Vec<usize> {
        if output {
            vec![F, Self::GEOMETRY.ow]
        } else {
            vec![C, L]
        }
    }
}

impl<
    const C: usize,
    const F: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const L: usize,
    const I: usize,
    const O: usize,
    const B: bool,
    T: Scalar,
> fmt::Display for Conv1d<C, F, K, S, P, L, I, O, B, T>
{
    /// `Conv1d(2 → 4, 3)`, with the stride, padding and a missing bias when they are not the
    /// defaults.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Conv1d({C} → {F}, {K}")?;
        options(f, S, P, B)
    }
}

conv_layer!(Conv1d
    [const C: usize, const F: usize, const K: usize, const S: usize, const P: usize, const L: usize, const I: usize, const O: usize, const B: bool]
    [C, F, K, S, P, L, I, O]);

/// A 2-D convolution whose filters and bias are borrowed, e.g. from `static`s in read-only
/// memory (flash on a microcontroller): a [`Conv2d`] frozen in place, for inference with no
/// heap. Its forward passes are `Conv2d`'s very computations (the same kernels), so a network
/// of them made from a trained network's weights gives bit-identical outputs. It has no
/// trainable parameters: backward passes give the input gradient only.
///
/// The type's parameters are [`Conv2d`]'s; the lengths of the borrowed arrays are checked
/// against them when the program is built (`F·C·K·K` filter values, `F` biases or none when
/// `B` is `false`). `cargo run --example export -- --input 1,28,28 --layers ...` writes a
/// trained network's weights as `static`s and a function building the network from them.
///
/// # Example
/// ```
/// use constnet::nn::{Conv2d, Layer, StaticConv2d};
/// use nalgebra::SVector;
///
/// // Two 2x2 filters over one 3x3 channel.
/// static W: [f32; 8] = [1.0, 0.0, 0.0, 1.0, 0.5, -0.5, 0.25, 2.0];
/// static B: [f32; 2] = [0.1, -0.1];
/// let frozen = StaticConv2d::<1, 2, 2, 1, 0, 3, 3, 9, 8>::new(&W, &B);
/// let heap = Conv2d::<1, 2, 2, 1, 0, 3, 3, 9, 8>::from_weights(&W, &B)?;
/// let x = SVector::<f32, 9>::from_fn(|i, _| i as f32);
/// assert_eq!(frozen.forward(&x), heap.forward(&x));
/// # Ok::<(), constnet::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct StaticConv2d<
    'a,
    const C: usize,
    const F: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const H: usize,
    const W: usize,
    const I: usize,
    const O: usize,
    const B: bool = true,
    T: Scalar = f32,
> {
    weight: &'a [T],
    bias: &'a [T],
}

impl<
    'a,
    const C: usize,
    const F: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const H: usize,
    const W: usize,
    const I: usize,
    const O: usize,
    const B: bool,
    T: Scalar,
> StaticConv2d<'a, C, F, K, S, P, H, W, I, O, B, T>
{
    /// The layer of filters `weight` (PyTorch's `[F, C, K, K]`, row-major) and `bias` (`F`
    /// values, or none without a bias). Lengths that do not fit the type fail the build.
    pub const fn new<const NW: usize, const NB: usize>(
        weight: &'a [T; NW],
        bias: &'a [T; NB],
    ) -> Self {
        const {
            assert!(
                NW == F * C * K * K,
                "StaticConv2d: the filters must hold F·C·K·K values"
            );
            assert!(
                NB == if B { F } else { 0 },
                "StaticConv2d: the bias must hold F values (none without a bias)"
            );
        }
        StaticConv2d { weight, bias }
    }

    /// The filters, in PyTorch's layout.
    pub fn weight(&self) -> &'a [T] {
        self.weight
    }

    /// The bias (empty without one).
    pub fn bias(&self) -> &'a [T] {
        self.bias
    }

    const GEOMETRY: Geometry = Conv2d::<C, F, K, S, P, H, W, I, O, B, T>::GEOMETRY;

    fn bias_values(&self) -> Option<&'a [T]> {
        (!self.bias.is_empty()).then_some(self.bias)
    }
}

impl<
    const C: usize,
    const F: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const H: usize,
    const W: usize,
    const I: usize,
    const O: usize,
    const B: bool,
    T: Scalar,
> fmt::Debug for StaticConv2d<'_, C, F, K, S, P, H, W, I, O, B, T>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StaticConv2d({C} → {F}, {K}x{K}")?;
        options(f, S, P, B)
    }
}

impl<
    const C: usize,
    const F: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const H: usize,
    const W: usize,
    const I: usize,
    const O: usize,
    const B: bool,
    T: Scalar,
> crate::nn::Takes<I> for StaticConv2d<'_, C, F, K, S, P, H, W, I, O, B, T>
{
}

impl<
    const C: usize,
    const F: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const H: usize,
    const W: usize,
    const I: usize,
    const O: usize,
    const B: bool,
    T: Scalar,
> crate::nn::Layer<T, I, O> for StaticConv2d<'_, C, F, K, S, P, H, W, I, O, B, T>
{
    type Tape = ();

    #[inline]
    fn forward_tape(&self, x: &SVector<T, I>) -> (SVector<T, O>, ()) {
        let mut y = SVector::<T, O>::zeros();
        conv_forward(
            &Self::GEOMETRY,
            self.weight,
            self.bias_values(),
            x.as_slice(),
            y.as_mut_slice(),
        );
        (y, ())
    }

    /// The input gradient; the weights are frozen, so nothing accumulates.
    #[inline]
    fn backward(
        &mut self,
        x: &SVector<T, I>,
        _: &SVector<T, O>,
        dy: &SVector<T, O>,
        _: &(),
    ) -> SVector<T, I> {
        let mut dx = SVector::<T, I>::zeros();
        conv_backward(
            &Self::GEOMETRY,
            self.weight,
            x.as_slice(),
            dy.as_slice(),
            None,
            None,
            Some(dx.as_mut_slice()),
        );
        dx
    }

    fn forward_batch(&self, x: &Batch<T, I>, y: &mut Batch<T, O>, tape: &mut DynTape) {
        ensure_cols(y, x.ncols());
        forward_batch(
            &Self::GEOMETRY,
            self.weight,
            self.bias_values(),
            x.as_slice(),
            y.as_mut_slice(),
            tape,
        );
    }

    fn backward_batch(
        &mut self,
        x: &Batch<T, I>,
        _: &Batch<T, O>,
        dy: &Batch<T, O>,
        dx: Option<&mut Batch<T, I>>,
        tape: &mut DynTape,
    ) {
        assert_eq!(x.ncols(), dy.ncols(), "minibatch sizes differ");
        if let Some(dx) = dx {
            ensure_cols(dx, x.ncols());
            input_grad_batch(
                &Self::GEOMETRY,
                self.weight,
                dy.as_slice(),
                dx.as_mut_slice(),
                tape.get_mut(),
            );
        }
    }

    /// The filters and bias, under `Conv2d`'s names, so that the summary counts them and the
    /// network saves as the network it came from.
    fn visit_params<V: FnMut(Param<'_, T>)>(&self, at: &Path<'_>, f: &mut V) {
        let shape = Conv2d::<C, F, K, S, P, H, W, I, O, B, T>::WEIGHT_SHAPE;
        f(Param {
            path: at,
            name: "weight",
            decay: true,
            role: crate::nn::param::Role::Learned,
            shape,
            value: self.weight,
        });
        if !self.bias.is_empty() {
            let shape = Shape::Vector(self.bias.len());
            f(Param {
                path: at,
                name: "bias",
                decay: false,
                role: crate::nn::param::Role::Learned,
                shape,
                value: self.bias,
            });
        }
    }

    /// Nothing: the weights are read-only.
    fn visit_params_mut<V: FnMut(ParamMut<'_, T>)>(&mut self, _: &Path<'_>, _: &mut V) {}

    crate::nn::layer::onnx_form! {
        |self, at, g| {
            let dims = Conv2d::<C, F, K, S, P, H, W, I, O, B, T>::dims;
            let dims = (dims(false), dims(true));
            crate::nn::onnx::forms::conv(
                &mut |mut f| self.visit_params(at, &mut f),
                at,
                g,
                &Self::GEOMETRY,
                dims,
            )
        }
    }

    fn visit_state(&mut self, _: &Path<'_>, _: &mut crate::nn::StateOp<'_>) {}

    fn describe(&self, at: &Path<'_>, f: &mut dyn FnMut(LayerInfo)) {
        let mut info = None;
        Conv2d::<C, F, K, S, P, H, W, I, O, B, T>::describe_as(
            self.weight.len() + self.bias.len(),
            at,
            &mut |i| info = Some(i),
        );
        if let Some(mut i) = info {
            i.name = i.name.replacen("Conv2d", "StaticConv2d", 1);
            f(i);
        }
    }
}

#[cfg(feature = "std")]
#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::Layer;
    use crate::nn::layers::reference::*;
    use crate::testing::check_layer_gradients;
    use rand::SeedableRng;

    fn filled<const N: usize>(f: fn(usize) -> f64) -> SVector<f64, N> {
        SVector::from_fn(|i, _| f(i))
    }

    fn assert_close(what: &str, ours: &[f64], theirs: &[f64]) {
        assert_eq!(ours.len(), theirs.len(), "{what}");
        for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
            assert!(
                (a - b).abs() < 1e-12,
                "{what}[{i}]: {a} here, {b} in PyTorch"
            );
        }
    }

    /// Both passes of `layer` on one sample and on a minibatch of that sample twice, against
    /// PyTorch's values (the minibatch's parameter gradients are twice one sample's).
    fn check_against_pytorch<L: Layer<f64, I, O> + Clone, const I: usize, const O: usize>(
        layer: L,
        y: &[f64],
        dx: &[f64],
        param_grads: &[&[f64]],
    ) {
        let (x, dy) = (filled::<I>(x_at), filled::<O>(dy_at));
        let mut one = layer.clone();
        let (out, tape) = one.forward_tape(&x);
        assert_close("y", out.as_slice(), y);
        let grad_x = one.backward(&x, &out, &dy, &tape);
        assert_close("dx", grad_x.as_slice(), dx);
        let mut grads = Vec::new();
        one.visit_params_mut(&Path::ROOT, &mut |p| grads.push(p.grad.to_vec()));
        for (ours, theirs) in grads.iter().zip(param_grads) {
            assert_close("parameter gradient", ours, theirs);
        }

        let mut batch = layer;
        let xb = Batch::<f64, I>::from_fn(2, |r, _| x[r]);
        let dyb = Batch::<f64, O>::from_fn(2, |r, _| dy[r]);
        let (mut yb, mut dxb, mut tape) = (Batch::zeros(2), Batch::zeros(2), DynTape::default());
        batch.forward_batch(&xb, &mut yb, &mut tape);
        batch.backward_batch(&xb, &yb, &dyb, Some(&mut dxb), &mut tape);
        for j in 0..2 {
            assert_close("batch y", yb.column(j).as_slice(), y);
            assert_close("batch dx", dxb.column(j).as_slice(), dx);
        }
        let mut grads = Vec::new();
        batch.visit_params_mut(&Path::ROOT, &mut |p| grads.push(p.grad.to_vec()));
        for (ours, theirs) in grads.iter().zip(param_grads) {
            let twice: Vec<f64> = theirs.iter().map(|g| 2.0 * g).collect();
            assert_close("batch parameter gradient", ours, &twice);
        }
    }

    #[test]
    fn conv2d_with_stride_and_padding_equals_pytorch() {
        let weight: Vec<f64> = (0..3 * 2 * 3 * 3).map(w_at).collect();
        let layer = Conv2d::<2, 3, 3, 2, 1, 5, 6, 60, 27, true, f64>::from_weights(
            &weight,
            &[-0.1, 0.0, 0.1],
        )
        .unwrap();
        check_against_pytorch(layer, &CONV2D_Y, &CONV2D_DX, &[&CONV2D_DW, &CONV2D_DB]);
    }

    #[test]
    fn conv1d_without_bias_equals_pytorch() {
        let weight: Vec<f64> = (0..2 * 2 * 4).map(w_at).collect();
        let layer =
            Conv1d::<2, 2, 4, 2, 2, 9, 18, 10, false, f64>::from_weights(&weight, &[]).unwrap();
        check_against_pytorch(layer, &CONV1D_Y, &CONV1D_DX, &[&CONV1D_DW]);
    }

    fn random<L: Build + Layer<f64, I, O>, const I: usize, const O: usize>(seed: u64) -> L {
        let mut layer = L::init_with(
            Init::XavierNormal,
            &mut rand::rngs::StdRng::seed_from_u64(seed),
        );
        layer.visit_params_mut(&Path::ROOT, &mut |p| {
            if p.name == "bias" {
                for (i, v) in p.value.iter_mut().enumerate() {
                    *v = (i as f64 * 0.37).sin();
                }
            }
        });
        layer
    }
    use crate::nn::Build;

    #[test]
    fn gradients_match_central_differences() {
        // Plain, padded, strided, strided and padded with a stride that leaves inputs out.
        check_layer_gradients(
            random::<Conv2d<1, 2, 3, 1, 0, 4, 5, 20, 12, true, f64>, _, _>(1),
            3,
        );
        check_layer_gradients(
            random::<Conv2d<2, 2, 3, 1, 1, 4, 4, 32, 32, true, f64>, _, _>(2),
            2,
        );
        check_layer_gradients(
            random::<Conv2d<2, 3, 2, 2, 0, 5, 4, 40, 12, false, f64>, _, _>(3),
            2,
        );
        check_layer_gradients(
            random::<Conv2d<1, 2, 3, 3, 1, 7, 6, 42, 12, true, f64>, _, _>(4),
            2,
        );
        check_layer_gradients(
            random::<Conv1d<2, 3, 3, 1, 1, 6, 12, 18, true, f64>, _, _>(5),
            3,
        );
        check_layer_gradients(
            random::<Conv1d<1, 2, 4, 3, 2, 9, 9, 8, false, f64>, _, _>(6),
            2,
        );
    }

    #[test]
    fn minibatches_give_the_same_bits_on_one_two_and_three_threads() {
        type Layer8 = Conv2d<3, 8, 3, 1, 1, 12, 12, 432, 1152>;
        let layer: Layer8 = Layer8::new(Init::HeNormal, &mut rand::rngs::StdRng::seed_from_u64(9));
        let n = 37;
        let x = Batch::<f32, 432>::from_fn(n, |r, c| ((r * 31 + c * 17) % 23) as f32 / 11.0 - 1.0);
        let dy = Batch::<f32, 1152>::from_fn(n, |r, c| ((r * 13 + c * 7) % 19) as f32 / 9.0 - 1.0);
        let run = |threads| {
            crate::with_threads(threads, || {
                let mut layer = layer.clone();
                let (mut y, mut dx, mut tape) =
                    (Batch::zeros(n), Batch::zeros(n), DynTape::default());
                layer.forward_batch(&x, &mut y, &mut tape);
                layer.backward_batch(&x, &y, &dy, Some(&mut dx), &mut tape);
                (
                    y,
                    dx,
                    layer.weight_grad().to_vec(),
                    layer.bias_grad().to_vec(),
                )
            })
            .unwrap()
        };
        let one = run(1);
        for threads in [2, 3] {
            let other = run(threads);
            assert!(
                one.0
                    .iter()
                    .zip(other.0.iter())
                    .all(|(a, b)| a.to_bits() == b.to_bits())
            );
            assert!(
                one.1
                    .iter()
                    .zip(other.1.iter())
                    .all(|(a, b)| a.to_bits() == b.to_bits())
            );
            assert!(
                one.2
                    .iter()
                    .zip(&other.2)
                    .all(|(a, b)| a.to_bits() == b.to_bits())
            );
            assert!(
                one.3
                    .iter()
                    .zip(&other.3)
                    .all(|(a, b)| a.to_bits() == b.to_bits())
            );
        }
    }

    #[test]
    fn weights_are_checked_when_given() {
        let err =
            Conv2d::<1, 2, 3, 1, 0, 4, 4, 16, 8, true, f64>::from_weights(&[0.0; 17], &[0.0; 2]);
        assert!(matches!(
            err,
            Err(Error::LengthMismatch {
                what: "weights",
                expected: 18,
                found: 17
            })
        ));
        let err =
            Conv2d::<1, 2, 3, 1, 0, 4, 4, 16, 8, false, f64>::from_weights(&[0.0; 18], &[0.0; 2]);
        assert!(matches!(
            err,
            Err(Error::LengthMismatch {
                what: "biases",
                expected: 0,
                found: 2
            })
        ));
        let mut w = [0.0; 18];
        w[5] = f64::NAN;
        let err = Conv2d::<1, 2, 3, 1, 0, 4, 4, 16, 8, true, f64>::from_weights(&w, &[0.0; 2]);
        assert!(matches!(err, Err(Error::NonFiniteParameter { row: 5, .. })));
    }

    #[test]
    fn borrowed_filters_give_conv2ds_outputs_bit_for_bit() {
        type Heap = Conv2d<2, 3, 3, 1, 1, 6, 5, 60, 90>;
        let heap = Heap::new(Init::HeNormal, &mut rand::rngs::StdRng::seed_from_u64(8));
        let weight: [f32; 54] = heap.weight().try_into().unwrap();
        let bias: [f32; 3] = [0.25, -0.5, 0.125];
        let heap = Heap::from_weights(&weight, &bias).unwrap();
        let frozen = StaticConv2d::<2, 3, 3, 1, 1, 6, 5, 60, 90>::new(&weight, &bias);
        let x = Batch::<f32, 60>::from_fn(7, |r, c| ((r * 7 + c * 13) % 17) as f32 / 8.0 - 1.0);
        assert_eq!(frozen.predict_batch(&x), heap.predict_batch(&x));
        for j in 0..7 {
            let xj = x.column(j).into_owned();
            assert_eq!(frozen.forward(&xj), heap.forward(&xj));
        }
        assert_eq!(crate::nn::summary(&frozen).total_params(), 54 + 3);
        // The input gradient, one sample and minibatch (the filters are frozen).
        let w64: Vec<f64> = weight.iter().map(|&w| f64::from(w)).collect();
        let w64: &'static [f64; 54] = Box::leak(w64.try_into().unwrap());
        let layer = StaticConv2d::<2, 3, 3, 1, 1, 6, 5, 60, 90, false, f64>::new(w64, &[]);
        crate::train::gradcheck::check_layer(layer, 2, 5).unwrap();
    }
}
