//! A fully connected layer whose weights are borrowed, e.g. from a `static` in read-only
//! memory (flash on a microcontroller): inference with no heap at all.

use core::fmt;

use nalgebra::{SMatrix, SVector};

use super::linear::{affine_batch, visit_weight_and_bias};
use crate::base::linalg::{affine, array, array_mut, column, column_mut, ensure_cols, mul_wt};
use crate::nn::layer::DynTape;
use crate::nn::param::{Param, ParamMut, Path, StateOp};
use crate::{base::linalg::Batch, base::scalar::Scalar, nn::layer::Layer, nn::takes::Takes};

/// `y = W·x + b` with `W` and `b` borrowed for `'a`: a [`Linear`](crate::nn::layers::Linear) frozen in
/// place. Its forward passes are the very computations of `Linear`'s (the same kernels), so a
/// network of `StaticLinear`s made from a trained network's weights gives bit-identical
/// outputs. It has no trainable parameters: backward passes give the input gradient only.
///
/// `cargo run --example export -- model.safetensors` writes a trained network's weights as
/// Rust `static`s and a function building the network from them.
///
/// # Example
/// ```
/// use constnet::nalgebra::{ArrayStorage, SMatrix, SVector};
/// use constnet::nn::{Layer, Linear, Relu, StaticLinear};
///
/// // Column-major storage: W = [[1, 2], [3, 4], [5, 6]] (3 outputs, 2 inputs).
/// static W: SMatrix<f32, 3, 2> = SMatrix::from_array_storage(ArrayStorage([[1.0, 3.0, 5.0], [2.0, 4.0, 6.0]]));
/// static B: SVector<f32, 3> = SVector::from_array_storage(ArrayStorage([[0.5, 0.0, -0.5]]));
///
/// let net = StaticLinear::new(&W, &B).then(Relu);
/// let x = SVector::from([1.0, -1.0]);
/// let heap = Linear::<2, 3>::from_rows(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[0.5, 0.0, -0.5])?.then(Relu);
/// assert_eq!(net.forward(&x), heap.forward(&x));
/// # Ok::<(), constnet::Error>(())
/// ```
pub struct StaticLinear<'a, const I: usize, const O: usize, T: Scalar = f32> {
    weight: &'a SMatrix<T, O, I>,
    bias: &'a SVector<T, O>,
}

impl<const I: usize, const O: usize, T: Scalar> Clone for StaticLinear<'_, I, O, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<const I: usize, const O: usize, T: Scalar> Copy for StaticLinear<'_, I, O, T> {}

impl<const I: usize, const O: usize, T: Scalar> fmt::Debug for StaticLinear<'_, I, O, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StaticLinear<{I}, {O}>")
    }
}

impl<'a, const I: usize, const O: usize, T: Scalar> StaticLinear<'a, I, O, T> {
    /// The layer of weight `W` (`O×I`) and bias `b`.
    pub const fn new(weight: &'a SMatrix<T, O, I>, bias: &'a SVector<T, O>) -> Self {
        StaticLinear { weight, bias }
    }

    /// The weight matrix.
    pub fn weight(&self) -> &'a SMatrix<T, O, I> {
        self.weight
    }

    /// The bias vector.
    pub fn bias(&self) -> &'a SVector<T, O> {
        self.bias
    }
}

impl<const I: usize, const O: usize, T: Scalar> Takes<I> for StaticLinear<'_, I, O, T> {}

impl<const I: usize, const O: usize, T: Scalar> Layer<T, I, O> for StaticLinear<'_, I, O, T> {
    type Tape = ();

    #[inline(always)]
    fn forward_tape(&self, x: &SVector<T, I>) -> (SVector<T, O>, ()) {
        let mut y = SVector::<T, O>::zeros();
        affine(self.weight, array(self.bias), array(x), array_mut(&mut y));
        (y, ())
    }

    /// The input gradient `Wᵀ·dy`; the weights are frozen, so nothing accumulates.
    #[inline(always)]
    fn backward(
        &mut self,
        _x: &SVector<T, I>,
        _y: &SVector<T, O>,
        dy: &SVector<T, O>,
        _: &(),
    ) -> SVector<T, I> {
        let mut dx = SVector::<T, I>::zeros();
        mul_wt(self.weight, array(dy), array_mut(&mut dx));
        dx
    }

    /// As [`Linear`](crate::nn::Linear)'s: the tape keeps the product of the second half of the inputs of a
    /// wide layer.
    #[inline(always)]
    fn forward_batch(&self, x: &Batch<T, I>, y: &mut Batch<T, O>, tape: &mut DynTape) {
        affine_batch(self.weight, self.bias, x, y, tape.get_mut());
    }

    #[inline(always)]
    fn backward_batch(
        &mut self,
        _x: &Batch<T, I>,
        _y: &Batch<T, O>,
        dy: &Batch<T, O>,
        dx: Option<&mut Batch<T, I>>,
        _: &mut DynTape,
    ) {
        if let Some(dx) = dx {
            ensure_cols(dx, dy.ncols());
            let columns = dx.as_mut_slice().chunks_exact_mut(I);
            for (dxj, dyj) in columns.zip(dy.as_slice().chunks_exact(O)) {
                mul_wt(self.weight, column(dyj), column_mut(dxj));
            }
        }
    }

    /// The weight and bias, under `Linear`'s names, so that [`summary`](crate::nn::summary::summary) counts
    /// them and a `StaticLinear` network saves as the network it came from.
    fn visit_params<F: FnMut(Param<'_, T>)>(&self, at: &Path<'_>, f: &mut F) {
        visit_weight_and_bias(self.weight, self.bias, at, f);
    }

    /// Nothing: the weights are read-only.
    fn visit_params_mut<F: FnMut(ParamMut<'_, T>)>(&mut self, _: &Path<'_>, _: &mut F) {}

    fn visit_state(&mut self, _: &Path<'_>, _: &mut StateOp<'_>) {}

    crate::nn::layer::onnx_form! {
        |self, at, g| {
            crate::nn::onnx::forms::gemm(&mut |mut f| self.visit_params(at, &mut f), O, at, g)
        }
    }
}

#[cfg(feature = "std")]
#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        Net, nn::build::Build, nn::init::Init, nn::layers::Linear, nn::layers::Relu,
        nn::layers::Tanh,
    };
    use nalgebra::ArrayStorage;
    use rand::SeedableRng;

    static W: SMatrix<f64, 2, 3> =
        SMatrix::from_array_storage(ArrayStorage([[1.0, -1.0], [0.5, 2.0], [-3.0, 0.25]]));
    static B: SVector<f64, 2> = SVector::from_array_storage(ArrayStorage([[0.1, -0.2]]));

    #[test]
    fn borrowed_weights_give_linears_outputs_bit_for_bit() {
        type Heap = Net![Linear<12, 40>, Tanh, Linear<40, 64>, Relu, Linear<64, 3>];
        let net = Heap::init_with(
            Init::XavierUniform,
            &mut rand::rngs::StdRng::seed_from_u64(3),
        );
        let (a, b, c) = (
            net.first().first().first().first(),
            net.first().first().second(),
            net.second(),
        );
        let frozen = StaticLinear::new(a.weight(), a.bias())
            .then(Tanh)
            .then(StaticLinear::new(b.weight(), b.bias()))
            .then(Relu)
            .then(StaticLinear::new(c.weight(), c.bias()));
        let x = Batch::<f32, 12>::from_fn(100, |r, c| ((r * 7 + c * 13) % 17) as f32 / 8.0 - 1.0);
        assert_eq!(frozen.predict_batch(&x), net.predict_batch(&x));
        for j in 0..100 {
            let xj = x.column(j).into_owned();
            assert_eq!(frozen.forward(&xj), net.forward(&xj));
        }
        assert_eq!(
            crate::nn::summary::summary(&frozen).total_params(),
            net.num_params()
        );
    }

    #[test]
    fn the_input_gradient_is_linears() {
        crate::train::gradcheck::check_layer::<_, 3, 2>(StaticLinear::new(&W, &B), 3, 1).unwrap();
        let mut frozen = StaticLinear::new(&W, &B);
        let mut heap =
            Linear::<3, 2, f64>::from_rows(&[1.0, 0.5, -3.0, -1.0, 2.0, 0.25], &[0.1, -0.2])
                .unwrap();
        let x = SVector::from([1.0, 2.0, 3.0]);
        let dy = SVector::from([0.5, -1.5]);
        let y = heap.forward(&x);
        assert_eq!(frozen.forward(&x), y);
        assert_eq!(
            frozen.backward(&x, &y, &dy, &()),
            heap.backward(&x, &y, &dy, &())
        );
    }
}
