//! Convolution of a minibatch sample straight from a zero-padded copy of it, with no unfolded
//! matrix ("implicit GEMM"): a block of filters times a run of output columns is kept in
//! registers while the window moves over the input, so each input value loaded serves every
//! filter of the block. Used for the minibatch forward pass, and for the input gradient of
//! stride-1 convolutions (a convolution of the padded output gradient with the flipped
//! filters).
//!
//! Each output is the bias plus its terms in the order of input channels, window rows, window
//! columns: the order of the one-sample loops in `window.rs`, without fused multiply-adds, so
//! both give the same values (the window positions over the padding add `w · 0`, which can
//! only turn a `−0` sum into `+0`).

use crate::base::scalar::Scalar;
use crate::base::simd;
use crate::nn::layers::window::Geometry;

/// Output columns computed together: one AVX2 register of `f32`.
pub(crate) const LANES: usize = 8;
/// Filters computed together.
const BLOCK: usize = 8;

/// The layout of a zero-padded sample: rows of `width` values, `height` rows per channel.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Padded {
    pub(crate) height: usize,
    pub(crate) width: usize,
}

impl Padded {
    /// The padded layout for `g`: the input with its padding, and wide enough that the last
    /// run of [`LANES`] output columns reads inside each row.
    pub(crate) fn of(g: &Geometry) -> Padded {
        let runs = g.ow.div_ceil(LANES);
        let reach = (runs * LANES - 1) * g.sw + g.kw;
        Padded {
            height: g.h + 2 * g.ph,
            width: (g.w + 2 * g.pw).max(reach),
        }
    }

    /// Values of one padded sample.
    pub(crate) fn len(&self, g: &Geometry) -> usize {
        g.c * self.height * self.width
    }
}

/// Copies sample `x` into `xp` (of [`Padded::len`] values) with its zero padding.
pub(crate) fn pad<T: Scalar>(g: &Geometry, layout: Padded, x: &[T], xp: &mut [T]) {
    xp.fill(T::zero());
    for (c, xc) in x.chunks_exact(g.plane()).enumerate().take(g.c) {
        for (y, row) in xc.chunks_exact(g.w).enumerate() {
            let at = (c * layout.height + y + g.ph) * layout.width + g.pw;
            xp[at..at + g.w].copy_from_slice(row);
        }
    }
}

/// `y` (`f` planes of `oh x ow`) ← bias (or zero) + the correlation of the padded sample `xp`
/// with the filters, given tap by tap: `weights[t·f + i]` is tap `t = (c·kh + ky)·kw + kx` of
/// filter `i` ([`by_tap`]), so that a block of filters reads one run of values per tap.
#[inline(always)]
fn convolve_kernel<T: Scalar>(
    g: &Geometry,
    layout: Padded,
    weights: &[T],
    bias: Option<&[T]>,
    xp: &[T],
    y: &mut [T],
) {
    let mut f0 = 0;
    while f0 + BLOCK <= g.f {
        block::<T, BLOCK>(g, layout, weights, bias, xp, y, f0);
        f0 += BLOCK;
    }
    while f0 < g.f {
        block::<T, 1>(g, layout, weights, bias, xp, y, f0);
        f0 += 1;
    }
}

simd::multiversion! {
    /// [`convolve_kernel`], compiled for the CPU's vector width.
    pub(crate) fn convolve[T: Scalar](
        g: &Geometry,
        layout: Padded,
        weights: &[T],
        bias: Option<&[T]>,
        xp: &[T],
        y: &mut [T],
    ) = convolve_kernel;
}

/// Filters `f0 .. f0 + NB` of [`convolve_kernel`].
#[inline(always)]
fn block<T: Scalar, const NB: usize>(
    g: &Geometry,
    layout: Padded,
    weights: &[T],
    bias: Option<&[T]>,
    xp: &[T],
    y: &mut [T],
    f0: usize,
) {
    let positions = g.positions();
    for oy in 0..g.oh {
        let mut ox0 = 0;
        while ox0 < g.ow {
            let mut acc = [[T::zero(); LANES]; NB];
            if let Some(bias) = bias {
                let bias = &bias[f0..f0 + NB];
                for b in 0..NB {
                    acc[b] = [bias[b]; LANES];
                }
            }
            // Window rows over the padding above or below the input add only zeros.
            let top = oy * g.sh;
            let rows = g.ph.saturating_sub(top)..g.kh.min((g.ph + g.h).saturating_sub(top));
            for c in 0..g.c {
                for ky in rows.clone() {
                    let at = (c * layout.height + oy * g.sh + ky) * layout.width;
                    let row = &xp[at..at + layout.width];
                    for kx in 0..g.kw {
                        let xin: [T; LANES] = if g.sw == 1 {
                            row[ox0 + kx..ox0 + kx + LANES]
                                .try_into()
                                .expect("a run of lanes")
                        } else {
                            core::array::from_fn(|l| row[(ox0 + l) * g.sw + kx])
                        };
                        let tap = (c * g.kh + ky) * g.kw + kx;
                        let w = &weights[tap * g.f + f0..][..NB];
                        for (b, a) in acc.iter_mut().enumerate() {
                            // One filter's weight times a run of inputs: a vector product.
                            let w = [w[b]; LANES];
                            for l in 0..LANES {
                                a[l] += w[l] * xin[l];
                            }
                        }
                    }
                }
            }
            let n = LANES.min(g.ow - ox0);
            for (b, a) in acc.iter().enumerate() {
                let out = &mut y[(f0 + b) * positions + oy * g.ow + ox0..][..n];
                // Lane by lane with constant indices, so that the sums stay in registers.
                for (l, &v) in a.iter().enumerate() {
                    if l < n {
                        out[l] = v;
                    }
                }
            }
            ox0 += LANES;
        }
    }
}

/// The output gradient `dy` (`f` planes of `oh x ow`) with each row widened to whole runs of
/// [`LANES`] (zeros after the last column), as [`filter_grad`] reads it; `out` holds
/// `f · oh · runs · LANES` values.
pub(crate) fn widen<T: Scalar>(g: &Geometry, dy: &[T], out: &mut [T]) {
    let width = g.ow.div_ceil(LANES) * LANES;
    for (row, wide) in dy.chunks_exact(g.ow).zip(out.chunks_exact_mut(width)) {
        wide[..g.ow].copy_from_slice(row);
        wide[g.ow..].fill(T::zero());
    }
}

/// Adds one sample's filter gradient for the taps `taps` (of `(c·kh + ky)·kw + kx`) to
/// `grad`: `grad(t, i) += Σ dy[i, oy, ox] · xp[c, oy·sh + ky, ox·sw + kx]` over the output
/// positions, with `xp` the padded sample and `dy` [`widen`]ed. Each sum runs over the
/// positions in lanes, added up lane by lane at the end: the same order on any thread count.
#[inline(always)]
fn filter_grad_kernel<T: Scalar>(
    g: &Geometry,
    layout: Padded,
    xp: &[T],
    dy: &[T],
    taps: core::ops::Range<usize>,
    grad: &mut crate::base::disjoint::RowsPart<'_, T>,
) {
    let mut f0 = 0;
    while f0 + BLOCK <= g.f {
        grad_block::<T, BLOCK>(g, layout, xp, dy, taps.clone(), grad, f0);
        f0 += BLOCK;
    }
    while f0 < g.f {
        grad_block::<T, 1>(g, layout, xp, dy, taps.clone(), grad, f0);
        f0 += 1;
    }
}

simd::multiversion! {
    /// [`filter_grad_kernel`], compiled for the CPU's vector width.
    pub(crate) fn filter_grad[T: Scalar](
        g: &Geometry,
        layout: Padded,
        xp: &[T],
        dy: &[T],
        taps: core::ops::Range<usize>,
        grad: &mut crate::base::disjoint::RowsPart<'_, T>,
    ) = filter_grad_kernel;
}

/// Filters `f0 .. f0 + NB` of [`filter_grad_kernel`].
#[inline(always)]
fn grad_block<T: Scalar, const NB: usize>(
    g: &Geometry,
    layout: Padded,
    xp: &[T],
    dy: &[T],
    taps: core::ops::Range<usize>,
    grad: &mut crate::base::disjoint::RowsPart<'_, T>,
    f0: usize,
) {
    let runs = g.ow.div_ceil(LANES);
    let plane = g.oh * runs * LANES;
    let start = taps.start;
    // The window place of the first tap, then counted up without divisions.
    let (mut c, mut ky, mut kx) = (start / (g.kh * g.kw), start / g.kw % g.kh, start % g.kw);
    for tap in taps {
        let mut acc = [[T::zero(); LANES]; NB];
        for oy in 0..g.oh {
            let at = (c * layout.height + oy * g.sh + ky) * layout.width;
            let row = &xp[at..at + layout.width];
            for run in 0..runs {
                let ox0 = run * LANES;
                let xin: [T; LANES] = if g.sw == 1 {
                    row[ox0 + kx..ox0 + kx + LANES]
                        .try_into()
                        .expect("a run of lanes")
                } else {
                    core::array::from_fn(|l| row[(ox0 + l) * g.sw + kx])
                };
                for (b, a) in acc.iter_mut().enumerate() {
                    let at = (f0 + b) * plane + (oy * runs + run) * LANES;
                    let d: &[T; LANES] = dy[at..at + LANES].try_into().expect("a run of lanes");
                    for ((a, &d), &x) in a.iter_mut().zip(d).zip(&xin) {
                        *a += d * x;
                    }
                }
            }
        }
        for (b, a) in acc.iter().enumerate() {
            let sum = a.iter().fold(T::zero(), |s, &v| s + v);
            grad.column(f0 + b)[tap - start] += sum;
        }
        kx += 1;
        if kx == g.kw {
            kx = 0;
            ky += 1;
            if ky == g.kh {
                ky = 0;
                c += 1;
            }
        }
    }
}

/// The geometry of the input gradient of a stride-1 convolution as a convolution: the output
/// gradient (`f` planes of `oh x ow`) padded by `k − 1 − p`, with the flipped filters
/// ([`flip`]), gives the `c` planes of `h x w`. `None` for strides above 1 or a padding
/// beyond `k − 1`.
pub(crate) fn transposed(g: &Geometry) -> Option<Geometry> {
    (g.sh == 1 && g.sw == 1 && g.ph < g.kh && g.pw < g.kw).then_some(Geometry {
        c: g.f,
        f: g.c,
        kh: g.kh,
        kw: g.kw,
        sh: 1,
        sw: 1,
        ph: g.kh - 1 - g.ph,
        pw: g.kw - 1 - g.pw,
        h: g.oh,
        w: g.ow,
        oh: g.h,
        ow: g.w,
    })
}

/// The filters `weight` (`[f, c, kh, kw]`, row-major) tap by tap, as [`convolve`] takes them:
/// `out[t·f + i] = weight[i·patch + t]`.
pub(crate) fn by_tap<T: Scalar>(g: &Geometry, weight: &[T], out: &mut [T]) {
    let patch = g.patch();
    for (i, filter) in weight.chunks_exact(patch).enumerate().take(g.f) {
        for (t, &w) in filter.iter().enumerate() {
            out[t * g.f + i] = w;
        }
    }
}

/// The filters of [`transposed`], tap by tap as [`convolve`] takes them: filter `c`, tap
/// `(f, ky, kx)` is `weight[f, c, kh−1−ky, kw−1−kx]`.
pub(crate) fn flip<T: Scalar>(g: &Geometry, weight: &[T], out: &mut [T]) {
    let taps = g.kh * g.kw;
    for f in 0..g.f {
        for c in 0..g.c {
            let from = &weight[(f * g.c + c) * taps..][..taps];
            for (t, &w) in from.iter().enumerate() {
                let tap = f * taps + (taps - 1 - t);
                out[tap * g.c + c] = w;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alloc_prelude::*;
    use crate::nn::layers::window::{conv_backward, conv_forward};

    fn sample(n: usize, seed: usize) -> Vec<f64> {
        (0..n)
            .map(|i| ((i * 7 + seed * 3) % 13) as f64 / 4.0 - 1.5)
            .collect()
    }

    #[test]
    fn equals_the_one_sample_loops_for_strides_and_paddings() {
        for g in [
            Geometry::square(1, 8, 5, 1, 0, 28, 28),
            Geometry::square(3, 9, 3, 1, 1, 7, 10),
            Geometry::square(2, 3, 3, 2, 1, 9, 8),
            Geometry::line(2, 5, 4, 3, 2, 17),
        ] {
            let (x, w) = (sample(g.c * g.plane(), 1), sample(g.f * g.patch(), 2));
            let bias = sample(g.f, 3);
            let mut direct = vec![0.0; g.f * g.positions()];
            conv_forward(&g, &w, Some(&bias), &x, &mut direct);
            let layout = Padded::of(&g);
            let mut xp = vec![0.0; layout.len(&g)];
            pad(&g, layout, &x, &mut xp);
            let mut y = vec![0.0; g.f * g.positions()];
            let mut taps = vec![0.0; w.len()];
            by_tap(&g, &w, &mut taps);
            convolve(&g, layout, &taps, Some(&bias), &xp, &mut y);
            assert_eq!(y, direct, "{g:?}");
        }
    }

    #[test]
    fn the_transposed_convolution_is_the_input_gradient() {
        for g in [
            Geometry::square(8, 16, 5, 1, 0, 12, 12),
            Geometry::square(3, 4, 3, 1, 2, 6, 5),
        ] {
            let (x, w, dy) = (
                sample(g.c * g.plane(), 1),
                sample(g.f * g.patch(), 2),
                sample(g.f * g.positions(), 4),
            );
            let (mut dw, mut dx) = (vec![0.0; w.len()], vec![0.0; x.len()]);
            conv_backward(&g, &w, &x, &dy, Some(&mut dw), None, Some(&mut dx));
            let t = transposed(&g).expect("stride 1");
            let mut flipped = vec![0.0; w.len()];
            flip(&g, &w, &mut flipped);
            let layout = Padded::of(&t);
            let mut dyp = vec![0.0; layout.len(&t)];
            pad(&t, layout, &dy, &mut dyp);
            let mut ours = vec![0.0; x.len()];
            convolve(&t, layout, &flipped, None, &dyp, &mut ours);
            for (a, b) in ours.iter().zip(&dx) {
                assert!((a - b).abs() < 1e-12, "{a} against {b}");
            }
        }
        assert!(transposed(&Geometry::square(1, 1, 3, 2, 0, 7, 7)).is_none());
    }
}
