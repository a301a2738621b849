//! Convolution of a minibatch sample straight from a zero-padded copy of it, with no unfolded
//! matrix ("implicit GEMM"): a tile of sums, a run of filters (one register) at each of a few
//! positions or window taps, is kept in registers while the window moves over the input, so
//! each value loaded serves a whole tile. Used for the minibatch forward pass, for the input
//! gradient of stride-1 convolutions (a convolution of the padded output gradient with the
//! flipped filters), and for the filter gradient.
//!
//! Each output is the bias plus its terms in the order of input channels, window rows, window
//! columns: the order of the one-sample loops in `window.rs`. The forward pass ([`ROUNDED`])
//! rounds each product and then adds it, as those loops do, so both give the same values (the
//! window positions over the padding add `w · 0`, which can only turn a `−0` sum into `+0`).
//! The training kernels (the input gradient, [`convolve`] with [`FUSED_MULTIPLY_ADD`], and
//! the filter gradient, [`filter_grad`]) add each term by a fused multiply-add, in software
//! where the CPU has none: the same order, one rounding per term. A tile's size changes which
//! sums are computed together, never the order of a sum's terms or their rounding, so the
//! tiles can be sized for each CPU's registers and give the same bits on every machine.

use crate::base::scalar::Scalar;
use crate::base::simd;
#[cfg(all(feature = "std", target_arch = "x86_64"))]
use crate::nn::layers::tiles;
use crate::nn::layers::window::Geometry;

/// Output columns computed together by [`convolve_runs`]: one AVX-512 register of `f32`.
const RUN: usize = 16;

/// Output columns computed together by the pair tiles of AVX-512 (`tiles::convolve_pairs`):
/// 6 pairs.
const PAIR_RUN: usize = 12;

/// The layout of a zero-padded sample: rows of `width` values, `height` rows per channel.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Padded {
    pub(crate) height: usize,
    pub(crate) width: usize,
}

impl Padded {
    /// The padded layout for `g`: the input with its padding, and wide enough that the last
    /// run of [`RUN`] output columns of [`convolve_runs`] (or of [`PAIR_RUN`] of the pair
    /// tiles) reads inside each row, with one value to spare.
    pub(crate) fn of(g: &Geometry) -> Padded {
        let columns = (g.ow.div_ceil(RUN) * RUN).max(g.ow.div_ceil(PAIR_RUN) * PAIR_RUN);
        // One value more: the filter gradient's pair tiles read the partner of an odd
        // window's last tap.
        let reach = (columns - 1) * g.sw + g.kw + 1;
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

/// Copies sample `x` into the inside of `xp` (of [`Padded::len`] values). Its padding is
/// never written: zero `xp` once, and it holds each sample of a minibatch in turn.
pub(crate) fn pad<T: Scalar>(g: &Geometry, layout: Padded, x: &[T], xp: &mut [T]) {
    for (c, xc) in x.chunks_exact(g.plane()).enumerate().take(g.c) {
        for (y, row) in xc.chunks_exact(g.w).enumerate() {
            let at = (c * layout.height + y + g.ph) * layout.width + g.pw;
            copy_short(row, &mut xp[at..at + g.w]);
        }
    }
}

/// `to ← from` for rows of a few values, eight at a time (the last eight may overlap the
/// ones before): `copy_from_slice` calls `memmove` for a length known only at run time,
/// which costs more than the copy.
#[inline]
fn copy_short<T: Scalar>(from: &[T], to: &mut [T]) {
    let n = from.len();
    if n < 8 {
        to.copy_from_slice(from);
        return;
    }
    let copy8 = |to: &mut [T], at: usize| {
        let from: &[T; 8] = from[at..at + 8].try_into().expect("8 values");
        let to: &mut [T; 8] = (&mut to[at..at + 8]).try_into().expect("8 values");
        *to = *from;
    };
    // A stride the compiler cannot see, or it turns the loop back into a `memmove` call.
    let (stride, mut at) = (core::hint::black_box(8), 0);
    while at + 8 <= n {
        copy8(to, at);
        at += stride;
    }
    if at < n {
        copy8(to, n - 8);
    }
}

/// `y` (`f` planes of `oh x ow`) ← bias (or zero) + the correlation of the padded sample `xp`
/// with the filters, given tap by tap ([`by_tap`]): `weights[t·fp + i]` is tap
/// `t = (c·kh + ky)·kw + kx` of filter `i`, `fp =` [`filters_padded`], so that a run of
/// filters reads one register's worth of weights per tap.
///
/// A tile is `V` filters at `PB` neighbouring positions of an output row.
#[inline(always)]
fn convolve_kernel<T: Scalar, const V: usize, const PB: usize, const FUSED: bool>(
    _: Terms<FUSED>,
    g: &Geometry,
    layout: Padded,
    weights: &[T],
    bias: Option<&[T]>,
    xp: &[T],
    y: &mut [T],
) {
    let mut f0 = 0;
    while f0 < g.f {
        let start: [T; V] = core::array::from_fn(|l| match bias {
            Some(b) if f0 + l < g.f => b[f0 + l],
            _ => T::zero(),
        });
        let tile = OutTile {
            g,
            layout,
            weights,
            xp,
            start,
            f0,
        };
        for oy in 0..g.oh {
            let mut ox = 0;
            while ox + PB <= g.ow {
                tile.run::<PB, FUSED>(oy, ox, y);
                ox += PB;
            }
            while ox < g.ow {
                tile.run::<1, FUSED>(oy, ox, y);
                ox += 1;
            }
        }
        f0 += V;
    }
}

/// What the tiles of [`convolve_kernel`] read: filters `f0 ..f0 + V`, starting from `start`.
struct OutTile<'a, T, const V: usize> {
    g: &'a Geometry,
    layout: Padded,
    weights: &'a [T],
    xp: &'a [T],
    start: [T; V],
    f0: usize,
}

impl<T: Scalar, const V: usize> OutTile<'_, T, V> {
    /// The outputs at positions `ox ..ox + PB` of row `oy`.
    #[inline(always)]
    fn run<const PB: usize, const FUSED: bool>(&self, oy: usize, ox: usize, y: &mut [T]) {
        let (g, layout) = (self.g, self.layout);
        let fp = filters_padded(g);
        let mut acc = [self.start; PB];
        // Window rows over the padding above or below the input add only zeros.
        let top = oy * g.sh;
        let rows = g.ph.saturating_sub(top)..g.kh.min((g.ph + g.h).saturating_sub(top));
        let span = (PB - 1) * g.sw + g.kw;
        for c in 0..g.c {
            for ky in rows.clone() {
                let at = (c * layout.height + top + ky) * layout.width + ox * g.sw;
                let line = &self.xp[at..at + span];
                let taps = &self.weights[(c * g.kh + ky) * g.kw * fp..][..g.kw * fp];
                acc = window_row::<T, V, PB, FUSED>(acc, line, taps, fp, self.f0, g.sw);
            }
        }
        let positions = g.positions();
        for (l, out) in y[self.f0 * positions..]
            .chunks_mut(positions)
            .take(V.min(g.f - self.f0))
            .enumerate()
        {
            let out = &mut out[oy * g.ow + ox..][..PB];
            for (o, a) in out.iter_mut().zip(&acc) {
                *o = a[l];
            }
        }
    }
}

/// One window row of an [`OutTile`]: `acc[j] += line[j·sw + kx] · taps[kx]` for the columns
/// `kx` in order. The sums go by value, indexed with constants, so that they stay in
/// registers with the filters in their lanes. (Written with `line[kx..kx + PB]` for stride
/// 1, the compiler vectorised across the positions instead, gathering and scattering the
/// sums in memory: ten times slower.)
#[inline(always)]
#[allow(clippy::needless_range_loop)]
fn window_row<T: Scalar, const V: usize, const PB: usize, const FUSED: bool>(
    mut acc: [[T; V]; PB],
    line: &[T],
    taps: &[T],
    fp: usize,
    f0: usize,
    sw: usize,
) -> [[T; V]; PB] {
    for (kx, w) in taps.chunks_exact(fp).enumerate() {
        let w: &[T; V] = w[f0..f0 + V].try_into().expect("a run of filters");
        for j in 0..PB {
            let x = line[j * sw + kx];
            for l in 0..V {
                acc[j][l] = multiply_add::<T, FUSED>(w[l], x, acc[j][l]);
            }
        }
    }
    acc
}

/// The convolution of [`convolve_kernel`] with the other tiles: [`RUN`] neighbouring output
/// columns in the lanes, for `NB` filters at a time. Better when there are fewer filters
/// than lanes and output rows about as wide as the lanes (the reference CNN's first layer,
/// and the input gradient of its second).
#[inline(always)]
#[cfg_attr(not(all(feature = "std", target_arch = "x86_64")), allow(dead_code))]
fn convolve_runs<T: Scalar, const NB: usize, const FUSED: bool>(
    _: Terms<FUSED>,
    g: &Geometry,
    layout: Padded,
    weights: &[T],
    bias: Option<&[T]>,
    xp: &[T],
    y: &mut [T],
) {
    let (positions, fp) = (g.positions(), filters_padded(g));
    let step = core::hint::black_box(1);
    let mut f0 = 0;
    while f0 < g.f {
        let filters = NB.min(g.f - f0);
        for oy in 0..g.oh {
            let mut ox0 = 0;
            while ox0 < g.ow {
                let acc: [[T; RUN]; NB] = core::array::from_fn(|b| match bias {
                    Some(bias) if b < filters => [bias[f0 + b]; RUN],
                    _ => [T::zero(); RUN],
                });
                let acc = if g.sw == 1 {
                    run_block::<T, NB, true, FUSED>(
                        g, layout, weights, fp, xp, acc, oy, ox0, f0, step,
                    )
                } else {
                    run_block::<T, NB, false, FUSED>(
                        g, layout, weights, fp, xp, acc, oy, ox0, f0, step,
                    )
                };
                let n = RUN.min(g.ow - ox0);
                for (b, a) in acc.iter().enumerate().take(filters) {
                    let out = &mut y[(f0 + b) * positions + oy * g.ow + ox0..][..n];
                    // Lane by lane with constant indices, so that the sums stay in registers.
                    for (l, &v) in a.iter().enumerate() {
                        if l < n {
                            out[l] = v;
                        }
                    }
                }
                ox0 += RUN;
            }
        }
        f0 += NB;
    }
}

/// The sums of [`convolve_runs`] for the run of output columns from `ox0` in row `oy`;
/// `UNIT` for stride 1 (kept apart from the strided loads, whose gathers would otherwise
/// send the sums to memory). The filters' weights are read `step` (1) apart: a step known
/// only at run time keeps the compiler from vectorising across the filters, with the sums
/// gathered and scattered in memory (ten times slower, measured).
#[inline(always)]
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
#[cfg_attr(not(all(feature = "std", target_arch = "x86_64")), allow(dead_code))]
fn run_block<T: Scalar, const NB: usize, const UNIT: bool, const FUSED: bool>(
    g: &Geometry,
    layout: Padded,
    weights: &[T],
    fp: usize,
    xp: &[T],
    mut acc: [[T; RUN]; NB],
    oy: usize,
    ox0: usize,
    f0: usize,
    step: usize,
) -> [[T; RUN]; NB] {
    // Window rows over the padding above or below the input add only zeros.
    let top = oy * g.sh;
    let rows = g.ph.saturating_sub(top)..g.kh.min((g.ph + g.h).saturating_sub(top));
    for c in 0..g.c {
        for ky in rows.clone() {
            let at = (c * layout.height + top + ky) * layout.width;
            let row = &xp[at..at + layout.width];
            for kx in 0..g.kw {
                let xin: [T; RUN] = if UNIT {
                    row[ox0 + kx..ox0 + kx + RUN]
                        .try_into()
                        .expect("a run of lanes")
                } else {
                    core::array::from_fn(|l| row[(ox0 + l) * g.sw + kx])
                };
                let tap = (c * g.kh + ky) * g.kw + kx;
                let w = &weights[tap * fp + f0..];
                for b in 0..NB {
                    // One filter's weight times a run of inputs: a vector product.
                    let w = w[b * step];
                    for l in 0..RUN {
                        acc[b][l] = multiply_add::<T, FUSED>(w, xin[l], acc[b][l]);
                    }
                }
            }
        }
    }
    acc
}

/// [`convolve_kernel`] with AVX-512's tiles. In `f32` with stride 1, the register tiles of
/// `tiles.rs`, whichever fills the most lanes: 16 filters in the lanes at up to 12
/// positions, runs of 16 output columns, or (for 8 filters or fewer) pairs of columns. Otherwise 16 filters to a
/// register, or 8 when there are no more (or the scalar is `f64`), at up to 12 positions;
/// or [`convolve_runs`] (`f32` with a stride).
#[inline]
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[target_feature(enable = "avx512f")]
fn convolve_wide<T: Scalar, const FUSED: bool>(
    _: Terms<FUSED>,
    g: &Geometry,
    layout: Padded,
    weights: &[T],
    bias: Option<&[T]>,
    xp: &[T],
    y: &mut [T],
) {
    // Lanes of sums per window tap of an output row, by tile: the runs of 16 columns (8
    // filters to a run), the pairs of columns (8 filters, up to 8), 16 filters at a position.
    let (filter_lanes, run_lanes) = (lanes_padded(g.f), g.ow.div_ceil(RUN) * RUN);
    let run_work = g.f.div_ceil(8) * 8 * run_lanes;
    let pair_work = (g.f <= 8).then(|| 8 * g.ow.div_ceil(PAIR_RUN) * PAIR_RUN);
    let runs = g.ow * filter_lanes > g.f * run_lanes;
    if let (1, Some(weights), Some(xp), Some(y)) =
        (g.sw, T::as_f32s(weights), T::as_f32s(xp), T::as_f32s_mut(y))
    {
        let inputs = tiles::Inputs {
            g,
            width: layout.width,
            height: layout.height,
            fp: filters_padded(g),
            weights,
            bias: bias.and_then(T::as_f32s),
            xp,
        };
        return if pair_work.is_some_and(|w| w <= run_work.min(g.ow * filter_lanes)) {
            tiles::convolve_pairs::<FUSED>(inputs, y)
        } else if runs {
            tiles::convolve_runs::<FUSED>(inputs, y)
        } else {
            tiles::convolve_filters::<FUSED>(inputs, y)
        };
    }
    if size_of::<T>() == 4 && runs {
        convolve_runs::<T, 8, FUSED>(Terms, g, layout, weights, bias, xp, y)
    } else if g.f <= 8 || size_of::<T>() > 4 {
        convolve_at::<T, 8, FUSED>(Terms, g, layout, weights, bias, xp, y)
    } else {
        convolve_at::<T, 16, FUSED>(Terms, g, layout, weights, bias, xp, y)
    }
}

/// [`convolve_kernel`] with `V` filters to a register and the widest run of positions (12,
/// 8 or 4) that divides the output rows.
#[inline(always)]
#[cfg_attr(not(all(feature = "std", target_arch = "x86_64")), allow(dead_code))]
fn convolve_at<T: Scalar, const V: usize, const FUSED: bool>(
    _: Terms<FUSED>,
    g: &Geometry,
    layout: Padded,
    weights: &[T],
    bias: Option<&[T]>,
    xp: &[T],
    y: &mut [T],
) {
    if g.ow.is_multiple_of(12) {
        convolve_kernel::<T, V, 12, FUSED>(Terms, g, layout, weights, bias, xp, y)
    } else if g.ow.is_multiple_of(8) {
        convolve_kernel::<T, V, 8, FUSED>(Terms, g, layout, weights, bias, xp, y)
    } else {
        convolve_kernel::<T, V, 4, FUSED>(Terms, g, layout, weights, bias, xp, y)
    }
}

/// How [`convolve`] adds each term: `Terms<false>` rounds the product and then adds it,
/// `Terms<true>` fuses the two (one rounding). Passed as a value so that the choice shows at
/// the call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Terms<const FUSED: bool>;

/// Each product rounded, then added: the forward pass, as the one-sample loops do.
pub(crate) const ROUNDED: Terms<false> = Terms;

/// Each term added by a fused multiply-add: the input gradient of stride-1 convolutions.
pub(crate) const FUSED_MULTIPLY_ADD: Terms<true> = Terms;

simd::multiversion! {
    /// [`convolve_kernel`] with tiles for the CPU's registers, each term added as `terms`
    /// says: [`ROUNDED`] or [`FUSED_MULTIPLY_ADD`].
    pub(crate) fn convolve[T: Scalar, const FUSED: bool](
        terms: Terms<FUSED>,
        g: &Geometry,
        layout: Padded,
        weights: &[T],
        bias: Option<&[T]>,
        xp: &[T],
        y: &mut [T],
    ) = {
        avx512: convolve_wide::<T, FUSED>,
        avx2: convolve_at::<T, 8, FUSED>,
        baseline: convolve_kernel::<T, 8, 4, FUSED>,
    };
}

/// `a·b + c`: fused (one rounding) for `FUSED`, else the product rounded and then added.
/// A CPU without fused multiply-adds computes the fused one in software: slower, the same
/// value.
#[inline(always)]
fn multiply_add<T: Scalar, const FUSED: bool>(a: T, b: T, c: T) -> T {
    if FUSED { a.mul_add(b, c) } else { c + a * b }
}

/// The filters of a row of [`transpose`]d output gradient, rounded up so that the widest
/// tile of filters reads inside it.
pub(crate) fn filters_padded(g: &Geometry) -> usize {
    lanes_padded(g.f)
}

/// `n` rounded up to whole registers of the widest tile (16 lanes).
fn lanes_padded(n: usize) -> usize {
    n.div_ceil(16) * 16
}

simd::multiversion! {
    /// The output gradient `dy` (`f` planes of `oh x ow`) position by position, as
    /// [`filter_grad`] reads it: `out[p · fp + i] = dy[i · positions + p]` with `fp =`
    /// [`filters_padded`]. The filters `f ..fp` are zero: the caller zeroes `out` once for a
    /// run of samples, and the AVX-512 version writes zeros there.
    ///
    /// With `bias`, also the bias gradient: `bias[i] += Σ dy[i]`, each plane summed from zero
    /// in order ([`add_plane_sums`]; the AVX-512 version sums the transposed columns, on
    /// their way through the registers, to the same bits).
    pub(crate) fn transpose[T: Scalar](g: &Geometry, dy: &[T], out: &mut [T], bias: Option<&mut [T]>) = {
        avx512: transpose_wide::<T>,
        avx2: transpose_values::<T>,
        baseline: transpose_values::<T>,
    };
}

/// [`transpose`] for AVX-512: in `f32`, blocks of 16 x 16 transposed in registers.
#[inline]
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[target_feature(enable = "avx512f")]
fn transpose_wide<T: Scalar>(g: &Geometry, dy: &[T], out: &mut [T], bias: Option<&mut [T]>) {
    if let (Some(dy), Some(out)) = (T::as_f32s(dy), T::as_f32s_mut(out)) {
        let bias = bias.map(|b| T::as_f32s_mut(b).expect("f32 like the output gradient"));
        return tiles::transpose(g.f, g.positions(), filters_padded(g), dy, out, bias);
    }
    transpose_values(g, dy, out, bias)
}

/// `sums[i] += Σ planes[i]` for the planes of `positions` values: each plane summed from zero
/// in order, eight planes at a time so that their chains of additions overlap (one after the
/// other, each waited on its additions' latency).
pub(crate) fn add_plane_sums<T: Scalar>(planes: &[T], positions: usize, sums: &mut [T]) {
    const AT_ONCE: usize = 8;
    for (block, sums) in planes
        .chunks(AT_ONCE * positions)
        .zip(sums.chunks_mut(AT_ONCE))
    {
        let mut acc = [T::zero(); AT_ONCE];
        let planes: [&[T]; AT_ONCE] =
            core::array::from_fn(|i| block.get(i * positions..(i + 1) * positions).unwrap_or(&[]));
        if planes.iter().all(|plane| plane.len() == positions) {
            // Eight whole planes, each cut to `positions`: no checks in the loop.
            let planes = planes.map(|plane| &plane[..positions]);
            for p in 0..positions {
                for (a, plane) in acc.iter_mut().zip(&planes) {
                    *a += plane[p];
                }
            }
        } else {
            for (a, plane) in acc.iter_mut().zip(&planes) {
                *a = plane.iter().fold(T::zero(), |s, &v| s + v);
            }
        }
        for (s, a) in sums.iter_mut().zip(acc) {
            *s += a;
        }
    }
}

/// [`transpose`] value by value.
#[inline(always)]
fn transpose_values<T: Scalar>(g: &Geometry, dy: &[T], out: &mut [T], bias: Option<&mut [T]>) {
    let (fp, positions) = (filters_padded(g), g.positions());
    if let Some(bias) = bias {
        add_plane_sums(&dy[..g.f * positions], positions, bias);
    }
    let out = &mut out[..positions * fp];
    let dy = &dy[..g.f * positions];
    // Blocks of 16 positions: each plane's 16 values read along memory, then written across
    // the block's rows (plane by plane over the whole sample, every write went to another
    // cache line).
    const BLOCK: usize = 16;
    for (b, rows) in out.chunks_mut(BLOCK * fp).enumerate() {
        let p0 = b * BLOCK;
        let n = BLOCK.min(positions - p0);
        for (i, plane) in dy.chunks_exact(positions).enumerate() {
            for (j, &v) in plane[p0..p0 + n].iter().enumerate() {
                rows[j * fp + i] = v;
            }
        }
    }
}

/// Whole window rows of `kw` taps from tap `t` up to `end`: 0 unless `t` starts a row.
fn whole_rows(t: usize, end: usize, kw: usize) -> usize {
    if t.is_multiple_of(kw) {
        (end - t) / kw
    } else {
        0
    }
}

/// Adds one sample's filter gradient for the taps `taps` (of `(c·kh + ky)·kw + kx`) to
/// `grad`, tap by tap ([`add_by_tap`] adds it to the weights' gradient):
/// `grad[(t − taps.start)·fp + i] += Σ dy[i, oy, ox] · xp[c, oy·sh + ky, ox·sw + kx]`, with
/// `xp` the padded sample, `dy` [`transpose`]d and `fp =` [`filters_padded`]. Each sum runs
/// over the positions in order, one fused multiply-add per term, in one lane of a register
/// that holds a run of filters, so its value does not depend on the tile that computes it,
/// the vector width or the thread count.
///
/// Tiles of `R3` or `R5` whole window rows serve 3- and 5-wide windows (each input value
/// loaded once per position and row); other taps go `TB` at a time. `V` filters share a
/// register.
#[inline(always)]
fn filter_grad_kernel<
    T: Scalar,
    const V: usize,
    const R3: usize,
    const R5: usize,
    const TB: usize,
>(
    g: &Geometry,
    layout: Padded,
    xp: &[T],
    dyt: &[T],
    taps: core::ops::Range<usize>,
    grad: &mut [T],
) {
    let on = GradTile {
        g,
        layout,
        xp,
        dyt,
        first: taps.start,
    };
    let mut f0 = 0;
    while f0 < g.f {
        let mut t = taps.start;
        while t < taps.end {
            t += match (g.kw, whole_rows(t, taps.end, g.kw)) {
                (5, r) if r >= R5 => on.rows::<V, R5, 5>(t, f0, grad),
                (5, 1..) => on.rows::<V, 1, 5>(t, f0, grad),
                (3, r) if r >= R3 => on.rows::<V, R3, 3>(t, f0, grad),
                (3, 1..) => on.rows::<V, 1, 3>(t, f0, grad),
                _ if taps.end - t >= TB => on.taps::<V, TB>(t, f0, grad),
                _ => on.taps::<V, 1>(t, f0, grad),
            };
        }
        f0 += V;
    }
}

/// `weight_grad(t, i) += grad[(t − start)·fp + i]` for the taps of `part`: the sums of
/// [`filter_grad`] added to the gradient of the weights.
pub(crate) fn add_by_tap<T: Scalar>(
    g: &Geometry,
    grad: &[T],
    weight_grad: &mut crate::base::disjoint::RowsPart<'_, T>,
    taps: core::ops::Range<usize>,
) {
    let fp = filters_padded(g);
    for i in 0..g.f {
        let column = weight_grad.column(i);
        for (w, sums) in column
            .iter_mut()
            .zip(grad.chunks_exact(fp))
            .take(taps.len())
        {
            *w += sums[i];
        }
    }
}

/// One output row of a [`GradTile::rows`] tile: `acc[r][k] += x[r][ox·sw + k] · dy[ox]`
/// for the positions `ox` of the row in order. Taking the sums by value and indexing with
/// constants lets them stay in registers (written with iterators over `&mut` arrays, they
/// were stored back to memory at every step).
#[inline(always)]
#[allow(clippy::needless_range_loop)]
fn row_pass<T: Scalar, const V: usize, const R: usize, const KW: usize>(
    mut acc: [[[T; V]; KW]; R],
    lines: &[&[T]; R],
    dy: &[T],
    fp: usize,
    f0: usize,
    sw: usize,
) -> [[[T; V]; KW]; R] {
    for (ox, d) in dy.chunks_exact(fp).enumerate() {
        let d: &[T; V] = d[f0..f0 + V].try_into().expect("a run of filters");
        for r in 0..R {
            let x: &[T; KW] = lines[r][ox * sw..][..KW].try_into().expect("a window row");
            for k in 0..KW {
                for l in 0..V {
                    acc[r][k][l] = x[k].mul_add(d[l], acc[r][k][l]);
                }
            }
        }
    }
    acc
}

/// What the tiles of [`filter_grad_kernel`] read.
struct GradTile<'a, T> {
    g: &'a Geometry,
    layout: Padded,
    xp: &'a [T],
    dyt: &'a [T],
    /// The first tap of the part, row 0 of `grad`.
    first: usize,
}

impl<T: Scalar> GradTile<'_, T> {
    /// Taps `t ..t + R·KW`, whole rows of a `KW`-wide window, for filters `f0 ..f0 + V`;
    /// returns the number of taps.
    #[inline(always)]
    fn rows<const V: usize, const R: usize, const KW: usize>(
        &self,
        t: usize,
        f0: usize,
        grad: &mut [T],
    ) -> usize {
        let (g, width) = (self.g, self.layout.width);
        let fp = filters_padded(g);
        let starts: [usize; R] = core::array::from_fn(|r| {
            let row = t / KW + r;
            (row / g.kh * self.layout.height + row % g.kh) * width
        });
        let span = (g.ow - 1) * g.sw + KW;
        let mut acc = [[[T::zero(); V]; KW]; R];
        for (oy, dy) in self.dyt.chunks_exact(g.ow * fp).take(g.oh).enumerate() {
            let lines: [&[T]; R] =
                core::array::from_fn(|r| &self.xp[starts[r] + oy * g.sh * width..][..span]);
            acc = row_pass::<T, V, R, KW>(acc, &lines, dy, fp, f0, g.sw);
        }
        for (k, a) in acc.iter().flatten().enumerate() {
            let at = (t + k - self.first) * fp + f0;
            for (s, &v) in grad[at..at + V].iter_mut().zip(a) {
                *s += v;
            }
        }
        R * KW
    }

    /// Taps `t ..t + TB`, anywhere in the window, for filters `f0 ..f0 + V`; returns `TB`.
    #[inline(always)]
    fn taps<const V: usize, const TB: usize>(&self, t: usize, f0: usize, grad: &mut [T]) -> usize {
        let (g, width) = (self.g, self.layout.width);
        let fp = filters_padded(g);
        let at: [usize; TB] = core::array::from_fn(|j| {
            let tap = t + j;
            let (c, ky, kx) = (tap / (g.kh * g.kw), tap / g.kw % g.kh, tap % g.kw);
            (c * self.layout.height + ky) * width + kx
        });
        let mut acc = [[T::zero(); V]; TB];
        for (oy, dy) in self.dyt.chunks_exact(g.ow * fp).take(g.oh).enumerate() {
            for (ox, d) in dy.chunks_exact(fp).enumerate() {
                let d: &[T; V] = d[f0..f0 + V].try_into().expect("a run of filters");
                let base = oy * g.sh * width + ox * g.sw;
                for (a, &at) in acc.iter_mut().zip(&at) {
                    let x = self.xp[base + at];
                    for (a, &d) in a.iter_mut().zip(d) {
                        *a = x.mul_add(d, *a);
                    }
                }
            }
        }
        for (k, a) in acc.iter().enumerate() {
            let at = (t + k - self.first) * fp + f0;
            for (s, &v) in grad[at..at + V].iter_mut().zip(a) {
                *s += v;
            }
        }
        TB
    }
}

/// [`filter_grad_kernel`] with AVX-512's tiles: in `f32` for 3- and 5-wide windows, the
/// register tiles of `tiles.rs` (16 filters to a register, whole window rows); otherwise 16
/// filters to a register, or 8 when there are no more (or the scalar is `f64`).
#[inline]
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[target_feature(enable = "avx512f")]
fn filter_grad_wide<T: Scalar>(
    g: &Geometry,
    layout: Padded,
    xp: &[T],
    dyt: &[T],
    taps: core::ops::Range<usize>,
    grad: &mut [T],
) {
    if let (3 | 5, Some(xp), Some(dyt), Some(grad)) =
        (g.kw, T::as_f32s(xp), T::as_f32s(dyt), T::as_f32s_mut(grad))
    {
        let i = tiles::GradInputs {
            g,
            width: layout.width,
            height: layout.height,
            fp: filters_padded(g),
            xp,
            dyt,
        };
        // Taps before the first whole window row of the part, or after the last.
        let on = GradTile {
            g,
            layout,
            xp,
            dyt,
            first: taps.start,
        };
        let (first, pairs) = (taps.start, g.f <= 8);
        for f0 in (0..g.f).step_by(16) {
            let mut t = taps.start;
            while t < taps.end {
                t += match (g.kw, whole_rows(t, taps.end, g.kw), pairs) {
                    // 25 registers of sums, of AVX-512's 32.
                    (5, 5.., false) => tiles::filter_grad_rows::<5, 5>(i, t, f0, first, grad),
                    (5, 2.., false) => tiles::filter_grad_rows::<2, 5>(i, t, f0, first, grad),
                    (5, 1.., false) => tiles::filter_grad_rows::<1, 5>(i, t, f0, first, grad),
                    (3, 6.., false) => tiles::filter_grad_rows::<6, 3>(i, t, f0, first, grad),
                    (3, 3.., false) => tiles::filter_grad_rows::<3, 3>(i, t, f0, first, grad),
                    (3, 1.., false) => tiles::filter_grad_rows::<1, 3>(i, t, f0, first, grad),
                    // 8 filters or fewer: pairs of taps in the lanes (8 filters twice), else
                    // half of the lanes would be empty.
                    (5, 5.., true) => tiles::filter_grad_pairs::<5, 5, 3>(i, t, first, grad),
                    (5, 2.., true) => tiles::filter_grad_pairs::<2, 5, 3>(i, t, first, grad),
                    (5, 1.., true) => tiles::filter_grad_pairs::<1, 5, 3>(i, t, first, grad),
                    (3, 6.., true) => tiles::filter_grad_pairs::<6, 3, 2>(i, t, first, grad),
                    (3, 3.., true) => tiles::filter_grad_pairs::<3, 3, 2>(i, t, first, grad),
                    (3, 1.., true) => tiles::filter_grad_pairs::<1, 3, 2>(i, t, first, grad),
                    _ => on.taps::<16, 1>(t, f0, grad),
                };
            }
        }
    } else if g.f <= 8 || size_of::<T>() > 4 {
        filter_grad_kernel::<T, 8, 7, 5, 8>(g, layout, xp, dyt, taps, grad)
    } else {
        filter_grad_kernel::<T, 16, 7, 5, 8>(g, layout, xp, dyt, taps, grad)
    }
}

simd::multiversion! {
    /// [`filter_grad_kernel`] with tiles for the CPU's registers: 32 of 16 `f32` with
    /// AVX-512, 16 of 8 with AVX2.
    pub(crate) fn filter_grad[T: Scalar](
        g: &Geometry,
        layout: Padded,
        xp: &[T],
        dyt: &[T],
        taps: core::ops::Range<usize>,
        grad: &mut [T],
    ) = {
        avx512: filter_grad_wide::<T>,
        avx2: filter_grad_kernel::<T, 8, 4, 2, 4>,
        baseline: filter_grad_kernel::<T, 8, 1, 1, 2>,
    };
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

/// Values of the filters tap by tap, as [`by_tap`] writes them for `g`.
pub(crate) fn taps_len(g: &Geometry) -> usize {
    g.patch() * filters_padded(g)
}

/// The filters `weight` (`[f, c, kh, kw]`, row-major) tap by tap, as [`convolve`] takes them:
/// `out[t·fp + i] = weight[i·patch + t]` with `fp =` [`filters_padded`], zero for `i ≥ f`;
/// `out` holds [`taps_len`] values.
pub(crate) fn by_tap<T: Scalar>(g: &Geometry, weight: &[T], out: &mut [T]) {
    let (patch, fp) = (g.patch(), filters_padded(g));
    out.fill(T::zero());
    for (i, filter) in weight.chunks_exact(patch).enumerate().take(g.f) {
        for (t, &w) in filter.iter().enumerate() {
            out[t * fp + i] = w;
        }
    }
}

/// The filters of [`transposed`], tap by tap as [`convolve`] takes them: filter `c`, tap
/// `(f, ky, kx)` is `weight[f, c, kh−1−ky, kw−1−kx]`; `out` holds [`taps_len`]`(transposed)`
/// values.
pub(crate) fn flip<T: Scalar>(g: &Geometry, weight: &[T], out: &mut [T]) {
    let taps = g.kh * g.kw;
    let cp = lanes_padded(g.c);
    out.fill(T::zero());
    for f in 0..g.f {
        for c in 0..g.c {
            let from = &weight[(f * g.c + c) * taps..][..taps];
            for (t, &w) in from.iter().enumerate() {
                let tap = f * taps + (taps - 1 - t);
                out[tap * cp + c] = w;
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

    /// The bias gradient's sums, eight planes at a time, equal each plane summed in order;
    /// and the transposition's sums (in registers on AVX-512, `f32`) are the same bits.
    #[test]
    fn plane_sums_are_each_planes_sum_in_order() {
        for (planes, positions) in [(3, 5), (8, 64), (11, 7), (16, 576), (20, 33)] {
            let dy: Vec<f32> = (0..planes * positions)
                .map(|i| ((i * 37) % 101) as f32 * 0.013 - 0.6)
                .collect();
            let mut sums = vec![0.5_f32; planes];
            add_plane_sums(&dy, positions, &mut sums);
            for (i, s) in sums.iter().enumerate() {
                let plane = &dy[i * positions..][..positions];
                assert_eq!(*s, 0.5 + plane.iter().fold(0.0, |s, &v| s + v));
            }
            let g = Geometry::line(1, planes, 1, 1, 0, positions);
            let mut out = vec![0.0; positions * filters_padded(&g)];
            let mut summed = vec![0.5_f32; planes];
            transpose(&g, &dy, &mut out, Some(&mut summed));
            let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&summed), bits(&sums), "{planes} planes of {positions}");
        }
    }

    #[test]
    fn equals_the_one_sample_loops_for_strides_and_paddings() {
        for g in [
            Geometry::square(1, 8, 5, 1, 0, 28, 28),
            Geometry::square(8, 16, 5, 1, 0, 12, 12),
            Geometry::square(2, 20, 3, 1, 1, 7, 10),
            Geometry::square(3, 9, 3, 1, 1, 7, 10),
            Geometry::square(2, 3, 3, 2, 1, 9, 8),
            Geometry::line(2, 5, 4, 3, 2, 17),
            // Runs of output columns on AVX-512 (now pairs, but for the second), by three
            // rows and fewer, with the padding above and below, 5-, 3- and 4-wide windows,
            // two runs of filters, part runs.
            Geometry::square(16, 8, 5, 1, 4, 8, 8),
            Geometry::square(1, 9, 5, 1, 2, 8, 20),
            Geometry::square(2, 3, 3, 1, 1, 7, 10),
            Geometry::square(2, 4, 4, 1, 2, 6, 9),
            // Pairs of output columns on AVX-512 (8 filters or fewer; the four above take
            // them too), two tiles of columns (the second a part), two leftover rows.
            Geometry::square(1, 7, 5, 1, 2, 8, 22),
            // Runs again: rows of 16 columns fill the runs' lanes.
            Geometry::square(2, 5, 3, 1, 1, 9, 16),
            Geometry::square(3, 6, 5, 1, 2, 7, 16),
        ] {
            let (x, w) = (sample(g.c * g.plane(), 1), sample(g.f * g.patch(), 2));
            let bias = sample(g.f, 3);
            let mut direct = vec![0.0; g.f * g.positions()];
            conv_forward(&g, &w, Some(&bias), &x, &mut direct);
            let layout = Padded::of(&g);
            let mut xp = vec![0.0; layout.len(&g)];
            pad(&g, layout, &x, &mut xp);
            let mut y = vec![0.0; g.f * g.positions()];
            let mut taps = vec![0.0; taps_len(&g)];
            by_tap(&g, &w, &mut taps);
            convolve(ROUNDED, &g, layout, &taps, Some(&bias), &xp, &mut y);
            assert_eq!(y, direct, "{g:?}");
            // The tiles of the other CPUs give the same bits.
            convolve_kernel::<f64, 4, 1, false>(Terms, &g, layout, &taps, Some(&bias), &xp, &mut y);
            assert_eq!(y, direct, "{g:?}");
            convolve_kernel::<f64, 16, 12, false>(
                Terms,
                &g,
                layout,
                &taps,
                Some(&bias),
                &xp,
                &mut y,
            );
            assert_eq!(y, direct, "{g:?}");
            convolve_runs::<f64, 8, false>(Terms, &g, layout, &taps, Some(&bias), &xp, &mut y);
            assert_eq!(y, direct, "{g:?}");
            // And in f32, whose tiles on AVX-512 are wider.
            let narrow = |v: &[f64]| v.iter().map(|&v| v as f32).collect::<Vec<f32>>();
            let (x, w, bias) = (narrow(&x), narrow(&w), narrow(&bias));
            let mut direct = vec![0.0; g.f * g.positions()];
            conv_forward(&g, &w, Some(&bias), &x, &mut direct);
            let mut xp = vec![0.0; layout.len(&g)];
            pad(&g, layout, &x, &mut xp);
            let mut taps = vec![0.0; taps_len(&g)];
            by_tap(&g, &w, &mut taps);
            let mut y = vec![0.0; g.f * g.positions()];
            convolve(ROUNDED, &g, layout, &taps, Some(&bias), &xp, &mut y);
            assert_eq!(y, direct, "{g:?}");
        }
    }

    /// The transposition in registers (AVX-512, `f32`) equals the one value by value, for
    /// whole and part blocks of 16 filters and positions.
    #[test]
    fn the_output_gradient_transposes_alike_in_registers() {
        for g in [
            Geometry::square(1, 8, 5, 1, 0, 28, 28),
            Geometry::square(8, 16, 5, 1, 0, 12, 12),
            Geometry::square(2, 20, 3, 1, 1, 7, 5),
            Geometry::line(2, 33, 4, 3, 2, 17),
        ] {
            let dy: Vec<f32> = (0..g.f * g.positions()).map(|v| v as f32 + 0.5).collect();
            let len = g.positions() * filters_padded(&g);
            let (mut ours, mut values) = (vec![0.0; len], vec![0.0; len]);
            transpose(&g, &dy, &mut ours, None);
            transpose_values(&g, &dy, &mut values, None);
            assert_eq!(ours, values, "{g:?}");
            assert_eq!(
                ours[filters_padded(&g) + g.f - 1],
                dy[g.f * g.positions() - g.positions() + 1]
            );
        }
    }

    type GradKernel<T> = fn(&Geometry, Padded, &[T], &[T], core::ops::Range<usize>, &mut [T]);

    /// One part's filter-gradient sums (the taps `taps`) over the samples of `x` and `dy`, by
    /// one of the tilings.
    fn part_sums<T: Scalar>(
        g: &Geometry,
        x: &[T],
        dy: &[T],
        taps: core::ops::Range<usize>,
        kernel: GradKernel<T>,
    ) -> Vec<T> {
        let layout = Padded::of(g);
        let mut xp = vec![T::zero(); layout.len(g)];
        let mut dyt = vec![T::zero(); g.positions() * filters_padded(g)];
        let mut sums = vec![T::zero(); taps.len() * filters_padded(g)];
        let samples = x.chunks_exact(g.c * g.plane());
        for (xj, dyj) in samples.zip(dy.chunks_exact(g.f * g.positions())) {
            pad(g, layout, xj, &mut xp);
            transpose(g, dyj, &mut dyt, None);
            kernel(g, layout, &xp, &dyt, taps.clone(), &mut sums);
        }
        sums
    }

    /// One part's filter-gradient sums (the taps `taps`), written out term by term: each
    /// sample's sum over the positions in order, one fused multiply-add per term, then added
    /// to the part's sums. Every tiling must give these bits.
    fn fused_sums(g: &Geometry, x: &[f32], dy: &[f32], taps: core::ops::Range<usize>) -> Vec<f32> {
        let (layout, fp, positions) = (Padded::of(g), filters_padded(g), g.positions());
        let mut xp = vec![0.0; layout.len(g)];
        let mut sums = vec![0.0; taps.len() * fp];
        let samples = x.chunks_exact(g.c * g.plane());
        for (xj, dyj) in samples.zip(dy.chunks_exact(g.f * positions)) {
            pad(g, layout, xj, &mut xp);
            for t in taps.clone() {
                let (c, ky, kx) = (t / (g.kh * g.kw), t / g.kw % g.kh, t % g.kw);
                for i in 0..g.f {
                    let mut acc = 0.0_f32;
                    for p in 0..positions {
                        let (oy, ox) = (p / g.ow, p % g.ow);
                        let row = c * layout.height + oy * g.sh + ky;
                        let x = xp[row * layout.width + ox * g.sw + kx];
                        acc = x.mul_add(dyj[i * positions + p], acc);
                    }
                    sums[(t - taps.start) * fp + i] += acc;
                }
            }
        }
        sums
    }

    /// The filter gradient over a few samples equals the one-sample loops', for whole and
    /// partial window rows (the taps of each part), 5-, 3- and 2-wide windows, strides and
    /// paddings, fewer and more filters than a register holds.
    #[test]
    fn the_filter_gradient_equals_the_one_sample_loops_on_any_part() {
        use crate::base::disjoint::{DisjointRows, part};
        for g in [
            Geometry::square(1, 8, 5, 1, 0, 28, 28),
            Geometry::square(8, 16, 5, 1, 0, 12, 12),
            Geometry::square(3, 20, 3, 1, 1, 7, 10),
            Geometry::square(2, 3, 3, 2, 1, 9, 8),
            Geometry::square(2, 5, 2, 1, 0, 6, 6),
            Geometry::line(2, 5, 4, 3, 2, 17),
            // Pairs of taps: 8 filters or fewer, 5- and 3-wide, by rows of six.
            Geometry::square(3, 7, 5, 1, 2, 9, 11),
            Geometry::square(3, 4, 3, 1, 0, 8, 16),
        ] {
            let samples = 3;
            let (x, dy) = (
                sample(samples * g.c * g.plane(), 1),
                sample(samples * g.f * g.positions(), 4),
            );
            let w = sample(g.f * g.patch(), 2);
            let mut expected = vec![0.0; w.len()];
            for (xj, dyj) in x
                .chunks_exact(g.c * g.plane())
                .zip(dy.chunks_exact(g.f * g.positions()))
            {
                conv_backward(&g, &w, xj, dyj, Some(&mut expected), None, None);
            }
            for parts in 1..=4 {
                let mut ours = vec![0.0; w.len()];
                let rows = DisjointRows::new(&mut ours, g.patch(), parts);
                for k in 0..parts {
                    let taps = part(g.patch(), parts, k);
                    let sums_by = |kernel| part_sums(&g, &x, &dy, taps.clone(), kernel);
                    let sums = sums_by(filter_grad::<f64>);
                    // The tiles of the other CPUs give the same bits.
                    assert_eq!(sums, sums_by(filter_grad_kernel::<f64, 8, 4, 2, 4>));
                    assert_eq!(sums, sums_by(filter_grad_kernel::<f64, 4, 1, 1, 1>));
                    add_by_tap(&g, &sums, &mut rows.take(k), taps);
                }
                for (a, b) in ours.iter().zip(&expected) {
                    assert!(
                        (a - b).abs() < 1e-12,
                        "{g:?} on {parts} parts: {a} against {b}"
                    );
                }
            }
            // In f32, AVX-512's register tiles (pairs of taps for 8 filters or fewer) give
            // the bits of the other CPUs' tiles, on every part, with values whose products
            // round (each term is one fused multiply-add everywhere).
            let narrow = |v: &[f64]| v.iter().map(|&v| (v * 0.37) as f32).collect::<Vec<f32>>();
            let (x, dy) = (narrow(&x), narrow(&dy));
            for parts in 1..=4 {
                for k in 0..parts {
                    let taps = part(g.patch(), parts, k);
                    let sums_by = |kernel| part_sums(&g, &x, &dy, taps.clone(), kernel);
                    let sums = sums_by(filter_grad::<f32>);
                    let fused = fused_sums(&g, &x, &dy, taps.clone());
                    assert!(sums == fused, "{g:?}: the sums are not fused term by term");
                    assert_eq!(
                        sums,
                        sums_by(filter_grad_kernel::<f32, 4, 1, 1, 1>),
                        "{g:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_transposed_convolution_is_the_input_gradient() {
        for g in [
            // Its input gradient takes the pair tiles on AVX-512 (8 filters of the transposed
            // convolution), the next one's the filter tiles, the last one's the runs.
            Geometry::square(8, 16, 5, 1, 0, 12, 12),
            Geometry::square(20, 3, 3, 1, 1, 7, 10),
            Geometry::square(3, 4, 3, 1, 2, 6, 5),
            Geometry::square(4, 5, 3, 1, 1, 9, 16),
        ] {
            let (x, w, dy) = (
                sample(g.c * g.plane(), 1),
                sample(g.f * g.patch(), 2),
                sample(g.f * g.positions(), 4),
            );
            let (mut dw, mut dx) = (vec![0.0; w.len()], vec![0.0; x.len()]);
            conv_backward(&g, &w, &x, &dy, Some(&mut dw), None, Some(&mut dx));
            let t = transposed(&g).expect("stride 1");
            let mut flipped = vec![0.0; taps_len(&t)];
            flip(&g, &w, &mut flipped);
            let layout = Padded::of(&t);
            let mut dyp = vec![0.0; layout.len(&t)];
            pad(&t, layout, &dy, &mut dyp);
            let (mut ours, fused) = (vec![0.0; x.len()], FUSED_MULTIPLY_ADD);
            convolve(fused, &t, layout, &flipped, None, &dyp, &mut ours);
            for (a, b) in ours.iter().zip(&dx) {
                assert!((a - b).abs() < 1e-12, "{a} against {b}");
            }
            // Every tiling rounds once per term, in the same order: the same bits.
            let mut other = vec![0.0; x.len()];
            convolve_kernel::<f64, 4, 1, true>(Terms, &t, layout, &flipped, None, &dyp, &mut other);
            assert_eq!(other, ours);
            convolve_kernel::<f64, 16, 12, true>(
                Terms, &t, layout, &flipped, None, &dyp, &mut other,
            );
            assert_eq!(other, ours);
            convolve_runs::<f64, 8, true>(Terms, &t, layout, &flipped, None, &dyp, &mut other);
            assert_eq!(other, ours);
            // In f32 too, whose AVX-512 tiles are `tiles.rs`' (pairs, runs or filters), with
            // values whose products round.
            let narrow = |v: &[f64]| v.iter().map(|&v| (v * 0.37) as f32).collect::<Vec<f32>>();
            let (flipped, dyp) = (narrow(&flipped), narrow(&dyp));
            let (mut ours, mut other) = (vec![0.0_f32; x.len()], vec![0.0_f32; x.len()]);
            convolve(fused, &t, layout, &flipped, None, &dyp, &mut ours);
            convolve_kernel::<f32, 4, 1, true>(Terms, &t, layout, &flipped, None, &dyp, &mut other);
            assert_eq!(other, ours, "{g:?}");
            convolve_runs::<f32, 8, true>(Terms, &t, layout, &flipped, None, &dyp, &mut other);
            assert_eq!(other, ours, "{g:?}");
            // And the forward pass's tiles round twice per term: another value somewhere.
            convolve(ROUNDED, &t, layout, &flipped, None, &dyp, &mut other);
            assert_ne!(other, ours, "{g:?}");
        }
        assert!(transposed(&Geometry::square(1, 1, 3, 2, 0, 7, 7)).is_none());
    }
}
