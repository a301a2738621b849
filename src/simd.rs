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

/// `multiversion!(fn name[generics](args) -> R where [bounds] = kernel;)` defines `name`,
/// which calls the `#[inline(always)]` function `kernel` compiled for AVX2 when the CPU has
/// it, and for the baseline otherwise. The library's one audited place for calling code
/// compiled for a CPU feature.
///
/// Everything `kernel` inlines is compiled for AVX2 in that copy, so a whole one-sample
/// training step (layers, activations, loss) is dispatched once, not per loop. Functions it
/// calls without inlining them run their own (baseline or dispatched) code.
macro_rules! multiversion {
    (
        $(#[$attr:meta])*
        $vis:vis fn $name:ident[$($generics:tt)*]($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)?
        $(where [$($bounds:tt)*])? = $kernel:path;
    ) => {
        $(#[$attr])*
        #[inline]
        $vis fn $name<$($generics)*>($($arg: $ty),*) $(-> $ret)? $(where $($bounds)*)? {
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            if crate::simd::has_avx2() {
                #[target_feature(enable = "avx2")]
                fn avx2<$($generics)*>($($arg: $ty),*) $(-> $ret)? $(where $($bounds)*)? {
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
