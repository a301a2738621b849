//! The CPU's vector width, used where it pays: the optimizer updates, and the one-sample and
//! minibatch training steps and the one-sample forward pass as wholes, compiled a second time
//! for AVX2 and chosen at run time on CPUs that have it, so the binaries stay portable (no
//! `target-cpu=native`).
//!
//! A kernel may also name a version for each level (AVX-512, AVX2, baseline), each with tiles
//! sized for that CPU's registers: the convolution kernels do, with sums whose order does not
//! depend on the tile (`nn::layers::implicit`).
//!
//! Both builds give the same bits. Rust never lets the compiler reorder floating-point
//! operations or fuse a multiply and an add on its own (fusing would also need FMA, which is
//! not enabled), so a wider build runs the same correctly rounded operations in the same
//! order, only more of them at once: the sums of the kernels keep their written order (their
//! partial sums are explicit). `optim::tests` and `train::tests` check it in release builds,
//! where the two builds differ in code (`cargo test --release --lib vectorised`).
//!
//! The training kernels of the convolutions (the input and filter gradients,
//! `nn::layers::implicit`) add each term with a fused multiply-add, written out (`mul_add`,
//! `_mm512_fmadd_ps`): their AVX-512 and AVX2 versions run on CPUs with FMA, and their
//! baseline version computes the same fused operation in software where the CPU has none, so
//! they too give the same bits on every machine (slowly on x86-64 CPUs without FMA, which
//! are rare). Everything else rounds each product, then adds it.

/// Whether this CPU runs AVX2 code (the standard library detects it once and caches it).
/// Without `std` or off x86-64, the baseline loops run.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[inline]
pub(crate) fn has_avx2() -> bool {
    std::is_x86_feature_detected!("avx2")
}

/// Whether this CPU runs AVX2 code with fused multiply-adds (FMA): the level of the kernels
/// that name one version per level (the training kernels of the convolutions fuse).
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[inline]
pub(crate) fn has_avx2_fma() -> bool {
    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
}

/// Whether this CPU runs AVX-512F code.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[inline]
pub(crate) fn has_avx512() -> bool {
    std::is_x86_feature_detected!("avx512f")
}

/// Registers of 16 `f32` (AVX-512) filled from and emptied into arrays: the library's one
/// audited place for these loads and stores. The kernels written with AVX-512's vector type
/// (`nn::layers::tiles`) use them; arithmetic on the registers needs no `unsafe`.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
pub(crate) mod f32x16 {
    use core::arch::x86_64::{
        __m512, _mm512_castsi512_ps, _mm512_loadu_ps, _mm512_mask_storeu_ps, _mm512_maskz_loadu_ps,
        _mm512_set1_epi64, _mm512_storeu_ps,
    };

    /// `x[0]` in the even lanes and `x[1]` in the odd ones: the pair as one 64-bit value,
    /// broadcast (a single load, which LLVM makes of the two reads).
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(crate) fn broadcast_pair(x: &[f32; 2]) -> __m512 {
        let bits = u64::from(x[0].to_bits()) | (u64::from(x[1].to_bits()) << 32);
        _mm512_castsi512_ps(_mm512_set1_epi64(bits as i64))
    }

    /// The 16 values of `x` as a register.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(crate) fn load(x: &[f32; 16]) -> __m512 {
        // SAFETY: `x` is valid for reading 16 `f32`, and an unaligned load takes any address.
        unsafe { _mm512_loadu_ps(x.as_ptr()) }
    }

    /// The values of `x` (at most 16) in the first lanes of a register, zero in the others:
    /// one masked load.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(crate) fn load_first(x: &[f32]) -> __m512 {
        let n = x.len().min(16);
        let mask = ((1u32 << n) - 1) as u16;
        // SAFETY: the mask selects lanes `0..n`, and `x` is valid for reading `n ≤ x.len()`
        // `f32` from its start; a masked load reads only the selected lanes, zeroes the
        // others, and does not touch (or fault on) their addresses.
        unsafe { _mm512_maskz_loadu_ps(mask, x.as_ptr()) }
    }

    /// The 16 lanes of `v`, written to `out`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(crate) fn store(out: &mut [f32; 16], v: __m512) {
        // SAFETY: `out` is valid for writing 16 `f32`, and an unaligned store takes any
        // address.
        unsafe { _mm512_storeu_ps(out.as_mut_ptr(), v) }
    }

    /// The first `out.len()` lanes of `v` (at most 16), written to `out`: one masked store
    /// where a copy of a few values would be a call or a loop.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(crate) fn store_first(out: &mut [f32], v: __m512) {
        let n = out.len().min(16);
        let mask = ((1u32 << n) - 1) as u16;
        // SAFETY: the mask selects lanes `0..n`, and `out` is valid for writing `n ≤ out.len()`
        // `f32` from its start; a masked store writes only the selected lanes and does not
        // touch (or fault on) the addresses of the others.
        unsafe { _mm512_mask_storeu_ps(out.as_mut_ptr(), mask, v) }
    }
}

/// The audited loads and stores of AVX-512 registers of `u32` (the pooling tiles' indices).
#[cfg(all(feature = "std", target_arch = "x86_64"))]
pub(crate) mod u32x16 {
    use core::arch::x86_64::{__m512i, _mm512_mask_storeu_epi32, _mm512_maskz_loadu_epi32};

    /// The mask of lanes `0 ..min(n, 16)`.
    #[inline]
    fn first(n: usize) -> u16 {
        ((1u32 << n.min(16)) - 1) as u16
    }

    /// The values of `x` (at most 16) in the first lanes of a register, zero in the others:
    /// one masked load.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(crate) fn load_first(x: &[u32]) -> __m512i {
        // SAFETY: the mask selects lanes `0..n` with `n ≤ x.len()`, and `x` is valid for
        // reading them from its start; a masked load reads only the selected lanes, zeroes
        // the others, and does not touch (or fault on) their addresses.
        unsafe { _mm512_maskz_loadu_epi32(first(x.len()), x.as_ptr().cast()) }
    }

    /// The first `out.len()` lanes of `v` (at most 16), written to `out`: one masked store.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(crate) fn store_first(out: &mut [u32], v: __m512i) {
        // SAFETY: the mask selects lanes `0..n` with `n ≤ out.len()`, and `out` is valid for
        // writing them from its start; a masked store writes only the selected lanes and does
        // not touch (or fault on) the addresses of the others.
        unsafe { _mm512_mask_storeu_epi32(out.as_mut_ptr().cast(), first(out.len()), v) }
    }
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
            if crate::base::simd::has_avx2() {
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
    (
        $(#[$attr:meta])*
        $vis:vis fn $name:ident[$($generics:tt)*]($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)?
        $(where [$($bounds:tt)*])? = {
            avx512: $wide:expr,
            avx2: $avx2:expr,
            baseline: $baseline:expr $(,)?
        };
    ) => {
        $(#[$attr])*
        #[inline]
        $vis fn $name<$($generics)*>($($arg: $ty),*) $(-> $ret)? $(where $($bounds)*)? {
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            {
                if crate::base::simd::has_avx512() {
                    #[target_feature(enable = "avx512f")]
                    fn avx512<$($generics)*>($($arg: $ty),*) $(-> $ret)? $(where $($bounds)*)? {
                        $wide($($arg),*)
                    }
                    // SAFETY: a function compiled with `target_feature(enable = "avx512f")`
                    // (which implies AVX2) requires only that the CPU runs AVX-512F
                    // instructions, which `has_avx512` just checked.
                    return unsafe { avx512($($arg),*) };
                }
                if crate::base::simd::has_avx2_fma() {
                    #[target_feature(enable = "avx2,fma")]
                    fn avx2<$($generics)*>($($arg: $ty),*) $(-> $ret)? $(where $($bounds)*)? {
                        $avx2($($arg),*)
                    }
                    // SAFETY: as above, for AVX2 and FMA, which `has_avx2_fma` just checked.
                    return unsafe { avx2($($arg),*) };
                }
            }
            $baseline($($arg),*)
        }
    };
}

pub(crate) use multiversion;
