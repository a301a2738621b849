//! Heap allocation of large static matrices and the three minibatch matrix products.
//!
//! Every product goes through `matrixmultiply` on the contiguous column-major storage, with a
//! transpose expressed as swapped strides; nalgebra's all-static product loop is never used
//! at minibatch sizes (it is several times slower, see `DESIGN-NOTES.md`).

use nalgebra::{Const, Dyn, OMatrix, SMatrix};

use crate::Scalar;

/// A minibatch: `N` features (a compile-time size) times a batch size chosen at run time.
///
/// Each column is one sample, stored contiguously (nalgebra is column-major).
pub type Batch<T, const N: usize> = OMatrix<T, Const<N>, Dyn>;

/// An `R×C` matrix of zeros, built directly on the heap.
///
/// `Box::new(SMatrix::zeros())` builds the matrix on the stack first in debug builds, which
/// overflows a 2 MiB thread stack at MNIST sizes; this does not.
pub(crate) fn boxed_zeros<T: Scalar, const R: usize, const C: usize>() -> Box<SMatrix<T, R, C>> {
    let zeroed = Box::<SMatrix<T, R, C>>::new_zeroed();
    // SAFETY: `T` is `f32` or `f64` (the trait is sealed), for which all-zero bits are 0.0,
    // and an `SMatrix` is nothing but an array of `T`.
    unsafe { zeroed.assume_init() }
}

/// Makes `m` hold `cols` columns, reallocating only when the batch size changes.
#[inline]
pub(crate) fn ensure_cols<T: Scalar, const N: usize>(m: &mut Batch<T, N>, cols: usize) {
    if m.ncols() != cols {
        *m = Batch::zeros(cols);
    }
}

#[inline]
fn same_batch(a: usize, b: usize) {
    assert_eq!(
        a, b,
        "minibatch sizes differ between the matrices of one product"
    );
}

/// `Y ← W·X + β·Y` with `W` of size `O×I` and `X`, `Y` holding one sample per column.
#[inline]
pub(crate) fn mul_w_x<T: Scalar, const I: usize, const O: usize>(
    w: &SMatrix<T, O, I>,
    x: &Batch<T, I>,
    beta: T,
    y: &mut Batch<T, O>,
) {
    let n = x.ncols();
    same_batch(n, y.ncols());
    // SAFETY: W is O×I column-major, X is I×n, Y is O×n, all contiguous; Y is a distinct buffer.
    unsafe {
        T::gemm(
            O,
            I,
            n,
            T::one(),
            w.as_ptr(),
            1,
            O as isize,
            x.as_ptr(),
            1,
            I as isize,
            beta,
            y.as_mut_ptr(),
            1,
            O as isize,
        );
    }
}

/// `dW ← dW + dY·Xᵀ`: accumulates the weight gradient over a minibatch.
#[inline]
pub(crate) fn add_dy_xt<T: Scalar, const I: usize, const O: usize>(
    dy: &Batch<T, O>,
    x: &Batch<T, I>,
    dw: &mut SMatrix<T, O, I>,
) {
    let n = x.ncols();
    same_batch(n, dy.ncols());
    // SAFETY: dY is O×n, Xᵀ is X (I×n) read with swapped strides, dW is O×I; all contiguous.
    unsafe {
        T::gemm(
            O,
            n,
            I,
            T::one(),
            dy.as_ptr(),
            1,
            O as isize,
            x.as_ptr(),
            I as isize,
            1,
            T::one(),
            dw.as_mut_ptr(),
            1,
            O as isize,
        );
    }
}

/// `dX ← Wᵀ·dY`: the input gradient of a linear map over a minibatch.
#[inline]
pub(crate) fn mul_wt_dy<T: Scalar, const I: usize, const O: usize>(
    w: &SMatrix<T, O, I>,
    dy: &Batch<T, O>,
    dx: &mut Batch<T, I>,
) {
    let n = dy.ncols();
    same_batch(n, dx.ncols());
    // SAFETY: Wᵀ is W (O×I) read with swapped strides, dY is O×n, dX is I×n; all contiguous.
    unsafe {
        T::gemm(
            I,
            O,
            n,
            T::one(),
            w.as_ptr(),
            O as isize,
            1,
            dy.as_ptr(),
            1,
            O as isize,
            T::zero(),
            dx.as_mut_ptr(),
            1,
            I as isize,
        );
    }
}
