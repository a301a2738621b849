//! The CPU's vector width, used where it pays: elementwise loops compiled a second time for
//! AVX2, chosen at run time on CPUs that have it, so the binaries stay portable (no
//! `target-cpu=native`).
//!
//! Only elementwise loops go through here: each value is computed by the same IEEE operations
//! (multiply, add, divide, square root, each correctly rounded) whatever the vector width, and
//! AVX2 alone does not let the compiler fuse a multiply and an add (that would need FMA, which
//! is not enabled), so both versions give the same bits; `tests` checks it.

/// Whether this CPU runs AVX2 code (the standard library detects it once and caches it).
/// Without `std` or off x86-64, the baseline loops run.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[inline]
pub(crate) fn has_avx2() -> bool {
    std::is_x86_feature_detected!("avx2")
}

/// `multiversion!(fn name<T>(args) = kernel;)` defines `name`, which calls the
/// `#[inline(always)]` function `kernel` compiled for AVX2 when the CPU has it, and for the
/// baseline otherwise. The library's one audited place for calling code compiled for a CPU
/// feature.
macro_rules! multiversion {
    ($(#[$attr:meta])* fn $name:ident<$T:ident>($($arg:ident: $ty:ty),* $(,)?) = $kernel:ident;) => {
        $(#[$attr])*
        fn $name<$T: crate::Scalar>($($arg: $ty),*) {
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            if crate::simd::has_avx2() {
                #[target_feature(enable = "avx2")]
                fn avx2<$T: crate::Scalar>($($arg: $ty),*) {
                    $kernel($($arg),*)
                }
                // SAFETY: a function compiled with `target_feature(enable = "avx2")` requires
                // only that the CPU runs AVX2 instructions, which `has_avx2` just checked.
                return unsafe { avx2($($arg),*) };
            }
            $kernel($($arg),*)
        }
    };
}

pub(crate) use multiversion;
