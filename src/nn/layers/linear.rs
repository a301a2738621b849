//! The fully connected layer `y = W·x + b`.

use core::fmt;

use nalgebra::{SMatrix, SVector};
use rand::Rng;

use crate::alloc_prelude::*;
use crate::base::linalg::{
    add_dy_xt, add_dy_xt_small, add_outer, affine, affine_in_halves, array, array_mut, boxed_zeros,
    column, column_mut, ensure_cols, gemm_backward, gemm_forward, mul_w_x, mul_wt, mul_wt_dy,
    split_inputs,
};
use crate::nn::layer::DynTape;
use crate::nn::param::{Param, Path, Shape};
use crate::{
    base::linalg::Batch, base::scalar::Scalar, error::Error, nn::init::Init, nn::layer::Layer,
    nn::takes::Takes,
};

/// A fully connected (affine) layer: `y = W·x + b`, from `I` inputs to `O` outputs.
///
/// `W` is an `O×I` matrix and `b` a vector of `O`; both live on the heap (the weight matrix
/// of `Linear<784, 128>` alone is 392 KiB, too big for a thread's stack in debug builds), as
/// do their accumulated gradients. Backward:
/// `∂L/∂W += ∂L/∂y · xᵀ`, `∂L/∂b += ∂L/∂y`, `∂L/∂x = Wᵀ · ∂L/∂y`.
///
/// `T` defaults to `f32`.
///
/// # Example
/// ```
/// use constnet::nn::{Layer, Linear};
/// use nalgebra::SVector;
///
/// // W = [[1, 2], [3, 4], [5, 6]] (3 outputs, 2 inputs), b = [0.5, 0, -0.5]
/// let layer = Linear::<2, 3>::from_rows(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[0.5, 0.0, -0.5])?;
/// let y = layer.forward(&SVector::from([1.0, -1.0]));
/// assert_eq!(y, SVector::from([-0.5, -1.0, -1.5]));
/// # Ok::<(), constnet::Error>(())
/// ```
pub struct Linear<const I: usize, const O: usize, T: Scalar = f32> {
    weight: Box<SMatrix<T, O, I>>,
    bias: Box<SVector<T, O>>,
    weight_grad: Box<SMatrix<T, O, I>>,
    bias_grad: Box<SVector<T, O>>,
}

impl<const I: usize, const O: usize, T: Scalar> Linear<I, O, T> {
    /// A layer whose weights are all zero (and so is the bias).
    pub fn zeros() -> Self {
        Linear {
            weight: boxed_zeros(),
            bias: boxed_zeros(),
            weight_grad: boxed_zeros(),
            bias_grad: boxed_zeros(),
        }
    }

    /// A layer with weights drawn by `init` from `rng` and a zero bias.
    pub fn new<R: Rng + ?Sized>(init: Init, rng: &mut R) -> Self {
        let mut layer = Self::zeros();
        // Row by row, so that the draws follow PyTorch's `out × in` order.
        for r in 0..O {
            for c in 0..I {
                layer.weight[(r, c)] = T::of(init.sample(I, O, rng));
            }
        }
        layer
    }

    /// A layer with the given weights, in row-major order (`O` rows of `I` values, PyTorch's
    /// layout of `nn.Linear.weight`), and bias.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] if `weight` does not hold `O·I` values or `bias` not `O`;
    /// [`Error::NonFiniteParameter`] naming the tensor (`"weights"` or `"biases"`), row and
    /// column of a NaN or infinite value.
    pub fn from_rows(weight: &[T], bias: &[T]) -> Result<Self, Error> {
        check_len("weights", O * I, weight.len())?;
        check_len("biases", O, bias.len())?;
        let mut layer = Self::zeros();
        for (r, row) in weight.chunks_exact(I.max(1)).take(O).enumerate() {
            for (c, &v) in row.iter().enumerate() {
                check_finite("weights", r, c, v)?;
                layer.weight[(r, c)] = v;
            }
        }
        for (r, &v) in bias.iter().enumerate() {
            check_finite("biases", r, 0, v)?;
            layer.bias[r] = v;
        }
        Ok(layer)
    }

    /// The weight matrix `W` (`O×I`).
    pub fn weight(&self) -> &SMatrix<T, O, I> {
        &self.weight
    }

    /// The bias vector `b`.
    pub fn bias(&self) -> &SVector<T, O> {
        &self.bias
    }

    /// The weight matrix, for editing in place.
    pub fn weight_mut(&mut self) -> &mut SMatrix<T, O, I> {
        &mut self.weight
    }

    /// The bias vector, for editing in place.
    pub fn bias_mut(&mut self) -> &mut SVector<T, O> {
        &mut self.bias
    }

    /// The weight gradient accumulated since the last optimizer step.
    pub fn weight_grad(&self) -> &SMatrix<T, O, I> {
        &self.weight_grad
    }

    /// The bias gradient accumulated since the last optimizer step.
    pub fn bias_grad(&self) -> &SVector<T, O> {
        &self.bias_grad
    }
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

fn check_finite<T: Scalar>(tensor: &str, row: usize, column: usize, v: T) -> Result<(), Error> {
    if v.finite() {
        Ok(())
    } else {
        Err(Error::NonFiniteParameter {
            tensor: tensor.to_string(),
            row,
            column,
            epoch: None,
        })
    }
}

impl<const I: usize, const O: usize, T: Scalar> Clone for Linear<I, O, T> {
    // Written by hand: the derived `Box::clone` builds the copy on the stack first.
    fn clone(&self) -> Self {
        let mut copy = Self::zeros();
        copy.weight.copy_from(&*self.weight);
        copy.bias.copy_from(&*self.bias);
        copy.weight_grad.copy_from(&*self.weight_grad);
        copy.bias_grad.copy_from(&*self.bias_grad);
        copy
    }
}

impl<const I: usize, const O: usize, T: Scalar> fmt::Debug for Linear<I, O, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Linear<{I}, {O}>")
    }
}

impl<const I: usize, const O: usize, T: Scalar> Takes<I> for Linear<I, O, T> {}

impl<const I: usize, const O: usize, T: Scalar> Layer<T, I, O> for Linear<I, O, T> {
    type Tape = ();

    #[inline(always)]
    fn forward_tape(&self, x: &SVector<T, I>) -> (SVector<T, O>, ()) {
        let mut y = SVector::<T, O>::zeros();
        affine(&self.weight, array(&self.bias), array(x), array_mut(&mut y));
        (y, ())
    }

    #[inline(always)]
    fn backward(
        &mut self,
        x: &SVector<T, I>,
        _y: &SVector<T, O>,
        dy: &SVector<T, O>,
        _: &(),
    ) -> SVector<T, I> {
        add_outer(array(dy), array(x), &mut self.weight_grad);
        *self.bias_grad += dy;
        let mut dx = SVector::<T, I>::zeros();
        mul_wt(&self.weight, array(dy), array_mut(&mut dx));
        dx
    }

    /// The tape keeps, for layers of 256 inputs or more, the product of the second half of
    /// the inputs.
    #[inline(always)]
    fn forward_batch(&self, x: &Batch<T, I>, y: &mut Batch<T, O>, tape: &mut DynTape) {
        affine_batch(&self.weight, &self.bias, x, y, tape.get_mut());
    }

    #[inline(always)]
    fn backward_batch(
        &mut self,
        x: &Batch<T, I>,
        _y: &Batch<T, O>,
        dy: &Batch<T, O>,
        dx: Option<&mut Batch<T, I>>,
        _: &mut DynTape,
    ) {
        let bias_grad = array_mut(&mut self.bias_grad);
        for dyj in dy.as_slice().chunks_exact(O) {
            for (g, &d) in bias_grad.iter_mut().zip(column::<T, O>(dyj)) {
                *g += d;
            }
        }
        if gemm_backward(I, O) {
            add_dy_xt(dy, x, &mut self.weight_grad);
            if let Some(dx) = dx {
                ensure_cols(dx, dy.ncols());
                mul_wt_dy(&self.weight, dy, dx);
            }
        } else {
            assert_eq!(x.ncols(), dy.ncols(), "minibatch sizes differ");
            add_dy_xt_small(dy.as_slice(), x.as_slice(), &mut self.weight_grad);
            if let Some(dx) = dx {
                ensure_cols(dx, dy.ncols());
                // Wᵀ once (it is small here), then each dx is a sum of its columns.
                let wt = self.weight.transpose();
                let zero = [T::zero(); I];
                let columns = dx.as_mut_slice().chunks_exact_mut(I);
                for (dxj, dyj) in columns.zip(dy.as_slice().chunks_exact(O)) {
                    affine(&wt, &zero, column(dyj), column_mut(dxj));
                }
            }
        }
    }

    crate::params! {
        weight: matrix(weight, weight_grad), decay;
        bias: vector(bias, bias_grad);
    }

    crate::nn::layer::onnx_form! {
        |self, at, g| {
            crate::nn::onnx::forms::gemm(&mut |mut f| self.visit_params(at, &mut f), O, at, g)
        }
    }
}

/// `Y = W·X + b` for a minibatch: through `matrixmultiply` for large layers (in two halves of
/// the inputs for wide ones, the second half's product kept in `second`), else one sample at
/// a time. Shared by [`Linear`] and [`StaticLinear`](crate::nn::layers::StaticLinear), so that both give
/// the same bits.
#[inline(always)]
pub(crate) fn affine_batch<T: Scalar, const I: usize, const O: usize>(
    weight: &SMatrix<T, O, I>,
    bias: &SVector<T, O>,
    x: &Batch<T, I>,
    y: &mut Batch<T, O>,
    second: &mut Batch<T, O>,
) {
    ensure_cols(y, x.ncols());
    let bias = array(bias);
    if gemm_forward(I, O) && split_inputs(I) {
        affine_in_halves(weight, bias, x, y, second);
    } else if gemm_forward(I, O) {
        for yj in y.as_mut_slice().chunks_exact_mut(O) {
            yj.copy_from_slice(bias);
        }
        mul_w_x(weight, x, T::one(), y);
    } else {
        let inputs = x.as_slice().chunks_exact(I);
        for (yj, xj) in y.as_mut_slice().chunks_exact_mut(O).zip(inputs) {
            affine(weight, bias, column(xj), column_mut(yj));
        }
    }
}

/// Hands a weight matrix and a bias vector to `f` as the parameters of the layer at `at`,
/// as [`Linear`] declares them (for layers that hold no gradients).
pub(crate) fn visit_weight_and_bias<
    T: Scalar,
    F: FnMut(Param<'_, T>),
    const I: usize,
    const O: usize,
>(
    weight: &SMatrix<T, O, I>,
    bias: &SVector<T, O>,
    at: &Path<'_>,
    f: &mut F,
) {
    f(Param {
        path: at,
        name: "weight",
        decay: true,
        role: crate::nn::param::Role::Learned,
        shape: Shape::Matrix { rows: O, cols: I },
        value: weight.as_slice(),
    });
    f(Param {
        path: at,
        name: "bias",
        decay: false,
        role: crate::nn::param::Role::Learned,
        shape: Shape::Vector(O),
        value: bias.as_slice(),
    });
}

#[cfg(feature = "std")]
#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{check_layer_gradients, random_linear};
    use nalgebra::{Matrix3x2, Vector2, Vector3};

    /// W = [[1, 2], [3, 4], [5, 6]], b = [0.5, 0, -0.5]: the numbers below are worked by hand.
    fn hand_layer() -> Linear<2, 3, f64> {
        Linear::from_rows(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[0.5, 0.0, -0.5]).unwrap()
    }

    #[test]
    fn forward_matches_hand_computation() {
        let layer = hand_layer();
        // [1·2 + 2·(−1) + 0.5, 3·2 + 4·(−1) + 0, 5·2 + 6·(−1) − 0.5]
        let y = layer.forward(&Vector2::new(2.0, -1.0));
        assert_eq!(y, Vector3::new(0.5, 2.0, 3.5));
    }

    #[test]
    fn backward_matches_hand_computation() {
        let mut layer = hand_layer();
        let x = Vector2::new(2.0, -1.0);
        let y = layer.forward(&x);
        let dy = Vector3::new(1.0, 0.0, -1.0);
        let dx = layer.backward(&x, &y, &dy, &());
        // Wᵀ·dy = [1 − 5, 2 − 6]
        assert_eq!(dx, Vector2::new(-4.0, -4.0));
        // dy·xᵀ = [[2, −1], [0, 0], [−2, 1]]
        assert_eq!(
            *layer.weight_grad(),
            Matrix3x2::new(2.0, -1.0, 0.0, 0.0, -2.0, 1.0)
        );
        assert_eq!(*layer.bias_grad(), dy);
    }

    #[test]
    fn backward_accumulates_until_reset() {
        let mut layer = hand_layer();
        let x = Vector2::new(1.0, 1.0);
        let y = layer.forward(&x);
        let dy = Vector3::new(1.0, 1.0, 1.0);
        layer.backward(&x, &y, &dy, &());
        layer.backward(&x, &y, &dy, &());
        assert_eq!(*layer.bias_grad(), Vector3::new(2.0, 2.0, 2.0));
        layer.zero_grad();
        assert_eq!(*layer.bias_grad(), Vector3::zeros());
    }

    #[test]
    fn batch_forward_equals_per_sample_forward() {
        let layer = hand_layer();
        let x = Batch::<f64, 2>::from_column_slice(&[2.0, -1.0, 0.0, 1.0, -3.0, 0.5]);
        let y = layer.predict_batch(&x);
        for j in 0..3 {
            let single = layer.forward(&x.column(j).into_owned());
            assert_eq!(y.column(j), single.column(0));
        }
    }

    #[test]
    fn gradients_match_central_differences() {
        check_layer_gradients(random_linear::<5, 3>(11), 4);
        check_layer_gradients(random_linear::<1, 7>(12), 3);
        check_layer_gradients(random_linear::<9, 1>(13), 1);
    }

    #[test]
    fn matrixmultiply_path_matches_the_per_sample_path() {
        // 72·64 is above the sizes from which minibatches go through matrixmultiply, while
        // one sample always takes the per-sample loops: each checks the other.
        assert!(
            crate::base::linalg::gemm_forward(72, 64) && crate::base::linalg::gemm_backward(72, 64)
        );
        let mut batch_layer = random_linear::<72, 64>(5);
        let mut sample_layer = batch_layer.clone();
        let n = 5;
        let x = Batch::<f64, 72>::from_fn(n, |r, c| ((r * 7 + c * 13) % 17) as f64 / 8.0 - 1.0);
        let dy = Batch::<f64, 64>::from_fn(n, |r, c| ((r * 5 + c * 3) % 11) as f64 / 5.0 - 1.0);
        let y = batch_layer.predict_batch(&x);
        let mut dx = Batch::zeros(0);
        batch_layer.backward_batch(&x, &y, &dy, Some(&mut dx), &mut DynTape::default());
        for j in 0..n {
            let xj = x.column(j).into_owned();
            let yj = sample_layer.forward(&xj);
            assert!((yj - y.column(j)).amax() < 1e-12);
            let dxj = sample_layer.backward(&xj, &yj, &dy.column(j).into_owned(), &());
            assert!((dxj - dx.column(j)).amax() < 1e-12);
        }
        assert!((batch_layer.weight_grad() - sample_layer.weight_grad()).amax() < 1e-12);
        assert!((batch_layer.bias_grad() - sample_layer.bias_grad()).amax() < 1e-12);
    }

    #[test]
    fn from_rows_rejects_wrong_lengths_and_non_finite_values() {
        let err = Linear::<2, 3, f64>::from_rows(&[1.0; 5], &[0.0; 3]).unwrap_err();
        assert!(matches!(
            err,
            Error::LengthMismatch {
                what: "weights",
                expected: 6,
                found: 5
            }
        ));
        let err = Linear::<2, 3, f64>::from_rows(&[1.0; 6], &[0.0; 2]).unwrap_err();
        assert!(matches!(
            err,
            Error::LengthMismatch {
                what: "biases",
                expected: 3,
                found: 2
            }
        ));
        let mut w = [1.0; 6];
        w[3] = f64::NAN;
        let err = Linear::<2, 3, f64>::from_rows(&w, &[0.0; 3]).unwrap_err();
        assert!(matches!(
            err,
            Error::NonFiniteParameter { ref tensor, row: 1, column: 1, epoch: None }
                if tensor == "weights"
        ));
        // Regression: the message spoke of "sample 0, component 1".
        assert_eq!(
            err.to_string(),
            "weights hold a non-finite value (NaN or infinity) at row 1, column 1"
        );
        let err = Linear::<2, 3, f64>::from_rows(&[1.0; 6], &[0.0, 0.0, f64::INFINITY]);
        assert!(err.unwrap_err().to_string().starts_with("biases hold"));
    }

    #[test]
    fn clone_copies_weights() {
        let layer = hand_layer();
        let copy = layer.clone();
        assert_eq!(copy.weight(), layer.weight());
        assert_eq!(copy.bias(), layer.bias());
    }
}
