//! The element types a network computes in: `f32` and `f64`.

use std::fmt::{Debug, Display};

use nalgebra::RealField;
use num_traits::{FromPrimitive, ToPrimitive};

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// A floating-point element type: `f32` (the usual choice) or `f64` (for gradient checks).
///
/// The trait is sealed because the fast matrix products come from `matrixmultiply`, which
/// has kernels for exactly these two types, and because the library relies on an all-zero
/// bit pattern being the value zero when it allocates large matrices on the heap.
///
/// # Example
/// ```
/// use constnet::Scalar;
/// fn half<T: Scalar>(x: T) -> T {
///     x * T::of(0.5)
/// }
/// assert_eq!(half(3.0_f32), 1.5);
/// ```
pub trait Scalar:
    RealField + Copy + Default + Debug + Display + FromPrimitive + ToPrimitive + sealed::Sealed
{
    /// Converts from `f64`, rounding to the nearest value of `Self`.
    fn of(x: f64) -> Self;

    /// Converts to `f64` (exact for both types).
    fn as_f64(self) -> f64;

    /// Whether the value is neither infinite nor NaN.
    fn finite(self) -> bool;

    /// `C ← α·A·B + β·C` on raw strided storage (`matrixmultiply::sgemm` / `dgemm`).
    ///
    /// `A` is `m×k`, `B` is `k×n`, `C` is `m×n`; element `(i, j)` of `A` is at
    /// `a[i·rsa + j·csa]`, and likewise for `B` and `C`.
    ///
    /// # Safety
    /// Every element addressed by the dimensions and strides must lie inside its buffer,
    /// and `c` must not overlap `a` or `b`.
    #[allow(clippy::too_many_arguments)]
    #[doc(hidden)]
    unsafe fn gemm(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: *const Self,
        rsa: isize,
        csa: isize,
        b: *const Self,
        rsb: isize,
        csb: isize,
        beta: Self,
        c: *mut Self,
        rsc: isize,
        csc: isize,
    );
}

macro_rules! impl_scalar {
    ($t:ty, $gemm:path) => {
        impl Scalar for $t {
            #[inline(always)]
            fn of(x: f64) -> Self {
                x as $t
            }
            #[inline(always)]
            fn as_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn finite(self) -> bool {
                self.is_finite()
            }
            #[inline]
            unsafe fn gemm(
                m: usize,
                k: usize,
                n: usize,
                alpha: Self,
                a: *const Self,
                rsa: isize,
                csa: isize,
                b: *const Self,
                rsb: isize,
                csb: isize,
                beta: Self,
                c: *mut Self,
                rsc: isize,
                csc: isize,
            ) {
                // SAFETY: forwarded from the caller's contract.
                unsafe { $gemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc) }
            }
        }
    };
}

impl_scalar!(f32, matrixmultiply::sgemm);
impl_scalar!(f64, matrixmultiply::dgemm);
