//! Pooling over windows of images and signals ([`MaxPool2d`], [`AvgPool2d`], [`MaxPool1d`],
//! [`AvgPool1d`]) and [`Flatten`].

use core::fmt;

use nalgebra::SVector;

use crate::alloc_prelude::*;
use crate::base::disjoint::DisjointParts;
use crate::base::linalg::{ensure_cols, split_into};
use crate::base::simd;
use crate::base::threads::run_parts;
use crate::nn::layer::{DynTape, LayerInfo};
#[cfg(all(feature = "std", target_arch = "x86_64"))]
use crate::nn::layers::tiles;
use crate::nn::layers::window::{Geometry, max_pool_taken, pool_backward, pool_forward};
use crate::nn::param::{Param, ParamMut, Path, StateOp};
use crate::{base::linalg::Batch, base::scalar::Scalar, nn::layer::Layer, nn::takes::Takes};

/// Pooling of every sample of a minibatch, the samples shared between the threads. Max
/// pooling records in `taken` which input each output took, for the backward pass.
fn pool_batch<T: Scalar>(
    g: &Geometry,
    max: bool,
    inputs: usize,
    outputs: usize,
    x: &[T],
    y: &mut [T],
    taken: &mut Vec<u32>,
) {
    let n = x.len() / inputs;
    let parts = split_into(n * outputs * g.kh * g.kw, n);
    if max && taken.len() != n * outputs {
        taken.clear();
        taken.resize(n * outputs, 0);
    }
    let ys = DisjointParts::new(y, outputs, parts);
    let takens = DisjointParts::new(&mut taken[..], outputs, parts);
    run_parts(parts, &|k| {
        let (y, samples) = (ys.take(k), ys.items(k));
        let taken = if max { takens.take(k) } else { &mut [] };
        for (yj, j) in y.chunks_exact_mut(outputs).zip(samples.clone()) {
            let xj = &x[j * inputs..][..inputs];
            if max {
                let row = &mut taken[(j - samples.start) * outputs..][..outputs];
                max_pool_sample(g, xj, yj, row);
            } else {
                pool_forward(g, false, xj, yj);
            }
        }
    });
}

/// The input gradient of pooling over a minibatch, the samples shared between the threads;
/// max pooling sends each output's gradient to the input recorded in `taken`.
#[allow(clippy::too_many_arguments)]
fn pool_backward_batch<T: Scalar>(
    g: &Geometry,
    max: bool,
    inputs: usize,
    outputs: usize,
    x: &[T],
    dy: &[T],
    dx: &mut [T],
    taken: &[u32],
) {
    let n = x.len() / inputs;
    assert!(
        !max || taken.len() >= n * outputs,
        "a backward pass needs the forward pass's tape"
    );
    let parts = split_into(n * outputs * g.kh * g.kw, n);
    let dxs = DisjointParts::new(dx, inputs, parts);
    run_parts(parts, &|k| {
        let (dx, samples) = (dxs.take(k), dxs.items(k));
        for (dxj, j) in dx.chunks_exact_mut(inputs).zip(samples) {
            let dyj = &dy[j * outputs..][..outputs];
            if max {
                max_unpool(g, dyj, &taken[j * outputs..][..outputs], dxj);
            } else {
                dxj.fill(T::zero());
                pool_backward(g, false, &x[j * inputs..][..inputs], dyj, dxj);
            }
        }
    });
}

/// Whether AVX-512's pooling tiles serve `g`: 2 x 2 windows moved by 2, on rows of more than
/// 8 outputs. Measured on one sample: 8 x 24 x 24 pools in 1.27 µs (the loops: 1.89 µs) and
/// its gradient in 0.93 µs (1.46 µs); on rows of 8 outputs both take the same, on rows of 4
/// (16 x 8 x 8) the loops are faster.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
fn halves(g: &Geometry) -> bool {
    (g.kh, g.kw, g.sh, g.sw) == (2, 2, 2, 2) && g.ow > 8
}

/// [`max_pool_taken`] with AVX-512's tiles ([`tiles::max_pool_2x2`]) where they apply.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[target_feature(enable = "avx512f")]
fn max_pool_wide<T: Scalar>(g: &Geometry, x: &[T], y: &mut [T], taken: &mut [u32]) {
    if let (true, Some(x), Some(y)) = (halves(g), T::as_f32s(x), T::as_f32s_mut(y)) {
        return tiles::max_pool_2x2(g, x, y, taken);
    }
    max_pool_taken(g, x, y, taken)
}

simd::multiversion! {
    /// Max pooling of one sample of a minibatch, recording in `taken` the input each output
    /// took ([`max_pool_taken`]; the same values and indices from every kernel).
    fn max_pool_sample[T: Scalar](g: &Geometry, x: &[T], y: &mut [T], taken: &mut [u32]) = {
        avx512: max_pool_wide::<T>,
        avx2: max_pool_taken::<T>,
        baseline: max_pool_taken::<T>,
    };
}

/// The input gradient of max pooling for one sample: `dx ← 0`, then each output's gradient
/// added at the input it took.
#[inline(always)]
fn max_unpool_kernel<T: Scalar>(_: &Geometry, dy: &[T], taken: &[u32], dx: &mut [T]) {
    dx.fill(T::zero());
    for (&i, &d) in taken.iter().zip(dy) {
        dx[i as usize] += d;
    }
}

/// [`max_unpool_kernel`] with AVX-512's tiles ([`tiles::max_unpool_2x2`]) where they apply.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[target_feature(enable = "avx512f")]
fn max_unpool_wide<T: Scalar>(g: &Geometry, dy: &[T], taken: &[u32], dx: &mut [T]) {
    if let (true, Some(dy), Some(dx)) = (halves(g), T::as_f32s(dy), T::as_f32s_mut(dx)) {
        return tiles::max_unpool_2x2(g, dy, taken, dx);
    }
    max_unpool_kernel(g, dy, taken, dx)
}

simd::multiversion! {
    /// [`max_unpool_kernel`], with AVX-512's tiles where they apply (the same bits).
    fn max_unpool[T: Scalar](g: &Geometry, dy: &[T], taken: &[u32], dx: &mut [T]) = {
        avx512: max_unpool_wide::<T>,
        avx2: max_unpool_kernel::<T>,
        baseline: max_unpool_kernel::<T>,
    };
}

/// The [`Layer`] of a pooling type: `$max` says maximum or mean; the type has `GEOMETRY`
/// and `dims`.
macro_rules! pool_layer {
    ($name:ident, $max:expr, [$($params:tt)*] [$($args:tt)*]) => {
        impl<$($params)*> Takes<I> for $name<$($args)*> {}

        impl<$($params)*, T: Scalar> Layer<T, I, O> for $name<$($args)*> {
            type Tape = ();

            #[inline]
            fn forward_tape(&self, x: &SVector<T, I>) -> (SVector<T, O>, ()) {
                let mut y = SVector::<T, O>::zeros();
                pool_forward(&Self::GEOMETRY, $max, x.as_slice(), y.as_mut_slice());
                (y, ())
            }

            #[inline]
            fn backward(&mut self, x: &SVector<T, I>, _: &SVector<T, O>, dy: &SVector<T, O>, _: &()) -> SVector<T, I> {
                let mut dx = SVector::<T, I>::zeros();
                pool_backward(&Self::GEOMETRY, $max, x.as_slice(), dy.as_slice(), dx.as_mut_slice());
                dx
            }

            /// The tape holds, for max pooling, the input each output took.
            fn forward_batch(&self, x: &Batch<T, I>, y: &mut Batch<T, O>, tape: &mut DynTape) {
                ensure_cols(y, x.ncols());
                let taken = tape.get_mut::<Vec<u32>>();
                pool_batch(&Self::GEOMETRY, $max, I, O, x.as_slice(), y.as_mut_slice(), taken);
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
                    let (g, taken) = (&Self::GEOMETRY, tape.get_mut::<Vec<u32>>());
                    pool_backward_batch(g, $max, I, O, x.as_slice(), dy.as_slice(), dx.as_mut_slice(), taken);
                }
            }

            fn visit_params<F: FnMut(Param<'_, T>)>(&self, _: &Path<'_>, _: &mut F) {}

            fn visit_params_mut<F: FnMut(ParamMut<'_, T>)>(&mut self, _: &Path<'_>, _: &mut F) {}

            fn visit_state(&mut self, _: &Path<'_>, _: &mut StateOp<'_>) {}

            crate::nn::layer::onnx_form! {
                |self, at, g| {
                    let dims = (Self::dims(false), Self::dims(true));
                    crate::nn::onnx::forms::pool(at, g, $max, &Self::GEOMETRY, dims)
                }
            }

            fn describe(&self, at: &Path<'_>, f: &mut dyn FnMut(LayerInfo)) {
                f(LayerInfo {
                    position: at.top(),
                    name: self.to_string(),
                    inputs: I,
                    outputs: O,
                    params: 0,
                    input_dims: Self::dims(false),
                    output_dims: Self::dims(true),
                });
            }
        }
    };
}

/// 2-D max pooling (PyTorch's `nn.MaxPool2d(K, S)`, no padding): each output is the largest
/// value of a `K x K` window, the window moved by `S` (PyTorch's default is `S = K`) over
/// every channel of an `H x W` input. Windows that do not fit whole at the end are left out,
/// as in PyTorch. In the backward pass the gradient goes to the first largest value of its
/// window, row by row (PyTorch's choice for ties); a NaN counts as largest.
///
/// `I = C·H·W` and `O = C·OH·OW`, with `OH = (H − K) / S + 1`; [`Net!`](crate::Net) works them
/// out (`MaxPool2d<2>` or `MaxPool2d<3, 2>` there) and checks them at compile time.
///
/// # Example
/// ```
/// use constnet::nn::{Layer, MaxPool2d};
/// use nalgebra::SVector;
///
/// // One 2x4 channel, 2x2 windows: [[1, 5, 2, 0], [3, 4, 8, 8]] -> [5, 8].
/// let pool = MaxPool2d::<2, 2, 2, 4, 8, 2>;
/// let y = pool.forward(&SVector::<f32, 8>::from([1.0, 5.0, 2.0, 0.0, 3.0, 4.0, 8.0, 8.0]));
/// assert_eq!(y, SVector::from([5.0, 8.0]));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MaxPool2d<
    const K: usize,
    const S: usize,
    const H: usize,
    const W: usize,
    const I: usize,
    const O: usize,
>;

/// 2-D average pooling (PyTorch's `nn.AvgPool2d(K, S)`, no padding): each output is the mean
/// of a `K x K` window; otherwise as [`MaxPool2d`]. The gradient of an output is shared
/// equally by its window.
///
/// # Example
/// ```
/// use constnet::nn::{AvgPool2d, Layer};
/// use nalgebra::SVector;
///
/// let pool = AvgPool2d::<2, 2, 2, 4, 8, 2>;
/// let y = pool.forward(&SVector::<f32, 8>::from([1.0, 5.0, 2.0, 0.0, 3.0, 4.0, 8.0, 8.0]));
/// assert_eq!(y, SVector::from([3.25, 4.5]));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AvgPool2d<
    const K: usize,
    const S: usize,
    const H: usize,
    const W: usize,
    const I: usize,
    const O: usize,
>;

/// 1-D max pooling (PyTorch's `nn.MaxPool1d(K, S)`): the largest value of each window of `K`
/// moved by `S` along every channel of length `L`; otherwise as [`MaxPool2d`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MaxPool1d<const K: usize, const S: usize, const L: usize, const I: usize, const O: usize>;

/// 1-D average pooling (PyTorch's `nn.AvgPool1d(K, S)`): the mean of each window of `K`
/// moved by `S` along every channel of length `L`; otherwise as [`AvgPool2d`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AvgPool1d<const K: usize, const S: usize, const L: usize, const I: usize, const O: usize>;

macro_rules! pool_geometry {
    ($name:ident, $max:expr, $label:literal) => {
        impl<const K: usize, const S: usize, const H: usize, const W: usize, const I: usize, const O: usize>
            $name<K, S, H, W, I, O>
        {
            /// The layer's geometry, checked against `I` and `O` when the layer is used.
            pub(crate) const GEOMETRY: Geometry = {
                crate::nn::shape::check_pool(2, $max, K, S, H, W, I, O);
                let c = I / (H * W);
                Geometry::square(c, c, K, S, 0, H, W)
            };

            fn dims(output: bool) -> Vec<usize> {
                let g = Self::GEOMETRY;
                if output { vec![g.c, g.oh, g.ow] } else { vec![g.c, H, W] }
            }
        }

        impl<const K: usize, const S: usize, const H: usize, const W: usize, const I: usize, const O: usize>
            fmt::Display for $name<K, S, H, W, I, O>
        {
            /// `MaxPool2d(2x2)`, with the stride when it is not the window.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($label, "({}x{}"), K, K)?;
                if S != K {
                    write!(f, ", stride {S}")?;
                }
                f.write_str(")")
            }
        }

        pool_layer!($name, $max, [const K: usize, const S: usize, const H: usize, const W: usize, const I: usize, const O: usize] [K, S, H, W, I, O]);
    };
    ($name:ident, $max:expr, $label:literal, line) => {
        impl<const K: usize, const S: usize, const L: usize, const I: usize, const O: usize> $name<K, S, L, I, O> {
            /// The layer's geometry, checked against `I` and `O` when the layer is used.
            pub(crate) const GEOMETRY: Geometry = {
                crate::nn::shape::check_pool(1, $max, K, S, 1, L, I, O);
                let c = I / L;
                Geometry::line(c, c, K, S, 0, L)
            };

            fn dims(output: bool) -> Vec<usize> {
                let g = Self::GEOMETRY;
                if output { vec![g.c, g.ow] } else { vec![g.c, L] }
            }
        }

        impl<const K: usize, const S: usize, const L: usize, const I: usize, const O: usize> fmt::Display
            for $name<K, S, L, I, O>
        {
            /// `MaxPool1d(2)`, with the stride when it is not the window.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($label, "({}"), K)?;
                if S != K {
                    write!(f, ", stride {S}")?;
                }
                f.write_str(")")
            }
        }

        pool_layer!($name, $max, [const K: usize, const S: usize, const L: usize, const I: usize, const O: usize] [K, S, L, I, O]);
    };
}

pool_geometry!(MaxPool2d, true, "MaxPool2d");
pool_geometry!(AvgPool2d, false, "AvgPool2d");
pool_geometry!(MaxPool1d, true, "MaxPool1d", line);
pool_geometry!(AvgPool1d, false, "AvgPool1d", line);

/// PyTorch's `nn.Flatten`: the same values, seen as a flat vector. Layers already pass flat
/// vectors (a `C x H x W` sample is stored channel-major, PyTorch's layout), so it changes
/// nothing and costs nothing; in [`Net!`](crate::Net) it marks where images end, and it takes
/// a place in the network's numbering, as in an `nn.Sequential`, so that saved names match
/// PyTorch's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flatten;

impl<const N: usize> Takes<N> for Flatten {}

impl<T: Scalar, const N: usize> Layer<T, N, N> for Flatten {
    type Tape = ();

    // ONNX: `Flatten` (`axis = 1`), always written, as PyTorch's exporter does.
    crate::nn::layer::onnx_form! {
        |self, at, g| {
            let attributes = vec![crate::nn::onnx::Attribute::int("axis", 1)];
            g.node(at, "Flatten", &[], attributes, vec![N]);
            Ok(())
        }
    }

    #[inline(always)]
    fn forward_tape(&self, x: &SVector<T, N>) -> (SVector<T, N>, ()) {
        (*x, ())
    }

    #[inline(always)]
    fn backward(
        &mut self,
        _: &SVector<T, N>,
        _: &SVector<T, N>,
        dy: &SVector<T, N>,
        _: &(),
    ) -> SVector<T, N> {
        *dy
    }

    fn forward_batch(&self, x: &Batch<T, N>, y: &mut Batch<T, N>, _: &mut DynTape) {
        ensure_cols(y, x.ncols());
        y.copy_from(x);
    }

    fn backward_batch(
        &mut self,
        _: &Batch<T, N>,
        _: &Batch<T, N>,
        dy: &Batch<T, N>,
        dx: Option<&mut Batch<T, N>>,
        _: &mut DynTape,
    ) {
        if let Some(dx) = dx {
            ensure_cols(dx, dy.ncols());
            dx.copy_from(dy);
        }
    }

    crate::params! {}

    fn describe(&self, at: &Path<'_>, f: &mut dyn FnMut(LayerInfo)) {
        f(LayerInfo {
            position: at.top(),
            name: "Flatten".into(),
            inputs: N,
            outputs: N,
            params: 0,
            input_dims: Vec::new(),
            output_dims: vec![N],
        });
    }
}

#[cfg(feature = "std")]
#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::layers::reference::*;
    use crate::testing::check_layer_gradients;

    fn check<L: Layer<f64, I, O>, const I: usize, const O: usize>(
        mut layer: L,
        y: &[f64],
        dx: &[f64],
    ) {
        let x = SVector::<f64, I>::from_fn(|i, _| x_halves(i));
        let dy = SVector::<f64, O>::from_fn(|i, _| dy_at(i));
        let (out, tape) = layer.forward_tape(&x);
        let grad = layer.backward(&x, &out, &dy, &tape);
        let xb = Batch::<f64, I>::from_fn(3, |r, _| x[r]);
        let dyb = Batch::<f64, O>::from_fn(3, |r, _| dy[r]);
        let (mut yb, mut dxb, mut tape) = (Batch::zeros(3), Batch::zeros(3), DynTape::default());
        layer.forward_batch(&xb, &mut yb, &mut tape);
        layer.backward_batch(&xb, &yb, &dyb, Some(&mut dxb), &mut tape);
        for (what, ours, theirs) in [("y", out.as_slice(), y), ("dx", grad.as_slice(), dx)] {
            for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
                assert!(
                    (a - b).abs() < 1e-12,
                    "{what}[{i}]: {a} here, {b} in PyTorch"
                );
            }
        }
        for j in 0..3 {
            assert_eq!(yb.column(j).as_slice(), out.as_slice());
            assert_eq!(dxb.column(j).as_slice(), grad.as_slice());
        }
    }

    #[test]
    fn pooling_equals_pytorch_ties_included() {
        check(MaxPool2d::<3, 2, 5, 7, 70, 12>, &MAXPOOL2D_Y, &MAXPOOL2D_DX);
        check(AvgPool2d::<3, 2, 5, 7, 70, 12>, &AVGPOOL2D_Y, &AVGPOOL2D_DX);
        check(MaxPool1d::<3, 2, 10, 20, 8>, &MAXPOOL1D_Y, &MAXPOOL1D_DX);
        check(AvgPool1d::<3, 2, 10, 20, 8>, &AVGPOOL1D_Y, &AVGPOOL1D_DX);
    }

    #[test]
    fn gradients_match_central_differences() {
        check_layer_gradients(MaxPool2d::<2, 2, 4, 6, 48, 12>, 3);
        check_layer_gradients(AvgPool2d::<3, 1, 4, 5, 40, 12>, 2);
        check_layer_gradients(MaxPool1d::<3, 2, 7, 14, 6>, 3);
        check_layer_gradients(AvgPool1d::<2, 2, 5, 15, 6>, 2);
        check_layer_gradients::<_, 6, 6>(Flatten, 2);
    }

    /// 2 x 2 max pooling of `f32` minibatch samples (AVX-512's tiles where the CPU has it)
    /// takes the values and inputs of the one-sample loops, and its backward pass writes the
    /// bits of adding to zeros: ties, NaNs, `−0` gradients, odd sizes, rows of 1 and 4
    /// outputs (the loops), of 10, 12 and more than 16 (the tiles), several planes.
    #[test]
    fn two_by_two_tiles_equal_the_loops_bit_for_bit() {
        use crate::nn::layers::window::max_pool_taken;
        for (c, h, w) in [
            (1, 2, 2),
            (3, 24, 24),
            (2, 7, 21),
            (2, 5, 35),
            (16, 8, 8),
            (1, 3, 66),
        ] {
            let g = Geometry::square(c, c, 2, 2, 0, h, w);
            let x: Vec<f32> = (0..c * h * w)
                .map(|i| match i % 23 {
                    5 => f32::NAN,
                    7 | 8 => 1.5, // a tie across a window's columns
                    k => ((i * 7 + k) % 11) as f32 - 5.0,
                })
                .collect();
            let outputs = g.f * g.positions();
            let (mut y, mut taken) = (vec![0.0f32; outputs], vec![0u32; outputs]);
            let (mut y_loops, mut taken_loops) = (y.clone(), taken.clone());
            max_pool_sample(&g, &x, &mut y, &mut taken);
            max_pool_taken(&g, &x, &mut y_loops, &mut taken_loops);
            let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&y), bits(&y_loops), "{g:?}");
            assert_eq!(taken, taken_loops, "{g:?}");
            let dy: Vec<f32> = (0..outputs)
                .map(|i| if i % 5 == 0 { -0.0 } else { i as f32 - 3.5 })
                .collect();
            let (mut dx, mut dx_loops) = (vec![9.0f32; x.len()], vec![9.0f32; x.len()]);
            max_unpool(&g, &dy, &taken, &mut dx);
            max_unpool_kernel(&g, &dy, &taken, &mut dx_loops);
            assert_eq!(bits(&dx), bits(&dx_loops), "{g:?}");
        }
    }

    #[test]
    fn a_nan_wins_the_maximum() {
        let x = SVector::<f64, 4>::from([1.0, f64::NAN, 3.0, 2.0]);
        let y: SVector<f64, 1> = MaxPool2d::<2, 2, 2, 2, 4, 1>.forward(&x);
        assert!(y[0].is_nan());
    }
}
