//! The element types a network computes in: `f32` and `f64`.

use core::fmt::{Debug, Display};

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
    RealField
    + Copy
    + Default
    + Debug
    + Display
    + FromPrimitive
    + ToPrimitive
    + Send
    + Sync
    + sealed::Sealed
{
    /// Converts from `f64`, rounding to the nearest value of `Self`.
    fn of(x: f64) -> Self;

    /// Converts to `f64` (exact for both types).
    fn as_f64(self) -> f64;

    /// Whether the value is neither infinite nor NaN.
    fn finite(self) -> bool;

    /// The hyperbolic tangent, by the fastest method that is accurate to the type: for `f32`
    /// a branch-free rational approximation (absolute error below 5·10⁻⁷, and it vectorises), for `f64` the
    /// standard library's `tanh`.
    fn fast_tanh(self) -> Self;

    /// `s` as `f32` values if `Self` is `f32`: lets a generic kernel take a path written for
    /// `f32` registers.
    #[doc(hidden)]
    fn as_f32s(s: &[Self]) -> Option<&[f32]>;

    /// [`Scalar::as_f32s`] for writing.
    #[doc(hidden)]
    fn as_f32s_mut(s: &mut [Self]) -> Option<&mut [f32]>;

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

/// tanh for `f32` as a rational function of degree 13/6 (the approximation Eigen uses), the
/// input clamped to [−9, 9]. No branches, so loops over it vectorise.
///
/// Beyond about ±7.9 the rational function passes 1 (1.0000001 at 7.9037843 in Horner's
/// form), so the output is clamped too: |tanh| ≤ 1, saturating at exactly ±1 (from ±9 at
/// the latest), with an absolute error below 5·10⁻⁷ (tested over the whole `f32` range in
/// `src/layers/activation.rs`). Eigen clamps the input at 7.905; in Estrin's form below the
/// function is 0.9999998 there, hence the wider input clamp.
#[inline(always)]
#[allow(clippy::excessive_precision)] // the coefficients as published
fn tanh_f32(x: f32) -> f32 {
    const CLAMP: f32 = 9.0;
    const A1: f32 = 4.893_524_6e-3;
    const A3: f32 = 6.372_619_3e-4;
    const A5: f32 = 1.485_722_4e-5;
    const A7: f32 = 5.122_297e-8;
    const A9: f32 = -8.604_672e-11;
    const A11: f32 = 2.000_188e-13;
    const A13: f32 = -2.760_768_5e-16;
    const B0: f32 = 4.893_525_2e-3;
    const B2: f32 = 2.268_434_6e-3;
    const B4: f32 = 1.185_347e-4;
    const B6: f32 = 1.198_258_4e-6;
    let x = x.clamp(-CLAMP, CLAMP);
    // Estrin's scheme rather than Horner's: the same polynomials evaluated as a tree of
    // independent pairs, so that the chain of dependent operations is about half as long
    // (the one-sample forward pass of a small tanh network waits on it).
    let x2 = x * x;
    let x4 = x2 * x2;
    let x8 = x4 * x4;
    let p = ((A1 + A3 * x2) + (A5 + A7 * x2) * x4 + ((A9 + A11 * x2) + A13 * x4) * x8) * x;
    let q = (B0 + B2 * x2) + (B4 + B6 * x2) * x4;
    (p / q).clamp(-1.0, 1.0)
}

macro_rules! impl_scalar {
    ($t:ty, $gemm:path, $tanh:expr, $f32s:expr, $f32s_mut:expr) => {
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
            #[inline(always)]
            fn fast_tanh(self) -> Self {
                $tanh(self)
            }
            #[inline(always)]
            fn as_f32s(s: &[Self]) -> Option<&[f32]> {
                $f32s(s)
            }
            #[inline(always)]
            fn as_f32s_mut(s: &mut [Self]) -> Option<&mut [f32]> {
                $f32s_mut(s)
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

impl_scalar!(f32, matrixmultiply::sgemm, tanh_f32, Some, Some);
// `Float::tanh` is `f64::tanh` with `std` and `libm`'s without.
impl_scalar!(
    f64,
    matrixmultiply::dgemm,
    num_traits::Float::tanh,
    |_| None,
    |_| None
);

/// `Self` and `U` are the same scalar type: what an optimizer of `U` values needs of the
/// parameters it updates.
///
/// Optimizers implement [`Optimizer<T>`](crate::optim::Optimizer) for every `T: SameScalar<U>`
/// rather than only for their own `U`, so that the compiler takes the scalar type from the
/// network and then reports a mismatch as the optimizer's ("an optimizer of `f32` values
/// cannot train a network of `f64` values"), not as the network's.
#[diagnostic::on_unimplemented(
    message = "an optimizer of `{U}` values cannot train a network of `{Self}` values",
    label = "the network and the data are of `{Self}` values, the optimizer of `{U}` values",
    note = "make both the same: e.g. `Sgd::<{Self}>::new(..)`, or leave the optimizer's type out \
            (`Sgd::new(..)`) to take the network's"
)]
pub trait SameScalar<U>: Scalar {
    /// `v`, seen as holding `Self` values (it does: `Self` is `U`).
    fn same_mut(v: &mut [U]) -> &mut [Self];
}

impl<T: Scalar> SameScalar<T> for T {
    #[inline(always)]
    fn same_mut(v: &mut [T]) -> &mut [T] {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_tanh_f32_is_accurate_everywhere() {
        // Scans [-12, 12]; worst errors measured against f64's tanh: absolute 3.8e-7 (near
        // ±6, where tanh is within 1e-5 of ±1) and relative 2.4e-7 for |x| < 1.
        let (mut worst_abs, mut worst_rel) = (0.0_f64, 0.0_f64);
        let mut x = -12.0_f32;
        while x <= 12.0 {
            let exact = (x as f64).tanh();
            let got = tanh_f32(x) as f64;
            worst_abs = worst_abs.max((got - exact).abs());
            if x.abs() < 1.0 && x != 0.0 {
                worst_rel = worst_rel.max(((got - exact) / exact).abs());
            }
            x += 0.000_37;
        }
        assert!(worst_abs < 5e-7, "absolute error {worst_abs}");
        assert!(worst_rel < 4e-7, "relative error {worst_rel}");
        assert_eq!(tanh_f32(0.0), 0.0);
        assert_eq!(tanh_f32(100.0), 1.0);
        assert_eq!(tanh_f32(-100.0), -1.0);
        assert!(tanh_f32(f32::NAN).is_nan());
    }
}
