//! The `f32` tiles of the implicit convolution kernels (`implicit.rs`) for AVX-512, written
//! with the CPU's register type (`__m512`: 16 lanes) instead of arrays of scalars.
//!
//! The array versions leave the choice of vector direction to the compiler, which took the
//! wrong one unless an index was hidden from it; the price was a bounds check and an address
//! computation beside every broadcast, and `perf annotate` showed those checks, not the
//! arithmetic, taking the time. Here the registers are explicit: a tile's inner loop is one
//! load, a broadcast, a multiplication and an addition per register of sums, with one
//! bounds check per window tap.
//!
//! The sums are the same as the array versions': each output is the bias plus its terms in
//! the order of input channels, window rows, window columns (each filter-gradient sum runs
//! over the positions in order), every product rounded and then added in the forward pass,
//! and fused with its addition (one rounding) in the training kernels: the input gradient
//! (the convolution tiles with `FUSED`) and the filter gradient. The tiles therefore give the
//! same bits as the other CPUs' (`implicit.rs` tests them against each other). A tile of several output rows takes the window rows any
//! of them needs, so a row may add `w · 0` from the padding above or below it, as every tile
//! does from the padding beside it: that can only turn a `−0` sum into `+0`.
//!
//! Three tiles of the convolution, one per way of filling the lanes: 16 filters at a few
//! positions ([`convolve_filters`]), runs of 16 output columns ([`convolve_runs`]), and
//! pairs of output columns for 8 filters or fewer ([`convolve_pairs`]; lanes `2k` and
//! `2k + 1` hold filter `k`). A layer takes the one that leaves the fewest lanes empty: for
//! the reference CNN, filters for the second layer's forward pass, pairs for the first
//! layer's and for the second layer's input gradient (rows of 24 and 12 columns, which runs
//! of 16 fill to three quarters).
//!
//! The filter gradient has two tiles likewise: 16 filters in the lanes ([`filter_grad_rows`]),
//! or for 8 filters or fewer two neighbouring taps ([`filter_grad_pairs`]).
//!
//! The output gradient's transposition for the filter gradient is here too: 16 x 16 blocks
//! in registers, summing the bias gradient on the way. So is 2 x 2 max pooling with its
//! gradient (`pool.rs`), 16 outputs to a register.

use core::arch::x86_64::{
    __m512, __m512d, __m512i, __mmask16, _CMP_GT_OQ, _CMP_UNORD_Q, _mm512_add_epi32, _mm512_add_ps,
    _mm512_castpd_ps, _mm512_castps_pd, _mm512_cmp_ps_mask, _mm512_cmpeq_epi32_mask,
    _mm512_fmadd_ps, _mm512_mask_add_epi32, _mm512_mask_blend_ps, _mm512_maskz_mov_ps,
    _mm512_mul_ps, _mm512_permutex2var_ps, _mm512_permutexvar_ps, _mm512_set_epi32,
    _mm512_set1_epi32, _mm512_set1_ps, _mm512_shuffle_f32x4, _mm512_shuffle_f64x2,
    _mm512_unpackhi_pd, _mm512_unpackhi_ps, _mm512_unpacklo_pd, _mm512_unpacklo_ps,
};

use crate::base::simd::f32x16::{broadcast_pair, load, load_first, store, store_first};
use crate::base::simd::u32x16;
use crate::nn::layers::window::Geometry;

/// Lanes of a register.
const LANES: usize = 16;

/// `a·b + c` in every lane: fused (one rounding) for `FUSED`, else the product rounded and
/// then added.
#[inline]
#[target_feature(enable = "avx512f")]
fn multiply_add<const FUSED: bool>(a: __m512, b: __m512, c: __m512) -> __m512 {
    if FUSED {
        _mm512_fmadd_ps(a, b, c)
    } else {
        _mm512_add_ps(c, _mm512_mul_ps(a, b))
    }
}

/// Filters of a run tile ([`convolve_runs`]).
const NB: usize = 8;

/// What the convolution kernels read: the filters tap by tap (`weights[t·fp + i]` is tap
/// `t` of filter `i`) and the sample zero-padded into rows of `width` values, `height` rows
/// per channel, wide enough for the last run of output columns.
#[derive(Clone, Copy)]
pub(crate) struct Inputs<'a> {
    pub(crate) g: &'a Geometry,
    pub(crate) width: usize,
    pub(crate) height: usize,
    pub(crate) fp: usize,
    pub(crate) weights: &'a [f32],
    pub(crate) bias: Option<&'a [f32]>,
    pub(crate) xp: &'a [f32],
}

impl Inputs<'_> {
    /// The window rows of output row `oy` that do not lie wholly in the padding above or
    /// below the input (those add only zeros).
    #[inline]
    fn rows(&self, oy: usize) -> core::ops::Range<usize> {
        let (g, top) = (self.g, oy * self.g.sh);
        g.ph.saturating_sub(top)..g.kh.min((g.ph + g.h).saturating_sub(top))
    }
}

/// A stride-1 convolution with 16 neighbouring output columns in the lanes, for 8 filters at
/// a time (each filter's weight broadcast across the lanes): for layers with fewer filters
/// than lanes and output rows about as wide as a register. A tile is the runs of up to
/// [`ROWS`] output rows, which share each weight's broadcast.
#[target_feature(enable = "avx512f")]
pub(crate) fn convolve_runs<const FUSED: bool>(i: Inputs<'_>, y: &mut [f32]) {
    match i.g.kw {
        5 => runs::<5, FUSED>(i, y),
        3 => runs::<3, FUSED>(i, y),
        _ => runs::<0, FUSED>(i, y),
    }
}

/// Output rows of a run tile ([`convolve_runs`]): 24 registers of sums.
const ROWS: usize = 3;

/// [`convolve_runs`] for windows `KW` wide (`0`: as wide as the geometry says).
#[inline]
#[target_feature(enable = "avx512f")]
fn runs<const KW: usize, const FUSED: bool>(i: Inputs<'_>, y: &mut [f32]) {
    let g = i.g;
    debug_assert_eq!(g.sw, 1);
    let positions = g.oh * g.ow;
    let mut f0 = 0;
    while f0 < g.f {
        let filters = NB.min(g.f - f0);
        let mut start = [0.0; NB];
        if let Some(bias) = i.bias {
            start[..filters].copy_from_slice(&bias[f0..f0 + filters]);
        }
        let mut oy = 0;
        while oy < g.oh {
            let rows = ROWS.min(g.oh - oy);
            for ox0 in (0..g.ow).step_by(LANES) {
                let n = LANES.min(g.ow - ox0);
                // The first `n` lanes of the first `filters` runs of each row of a tile
                // (written out twice: as a function, it was not inlined).
                macro_rules! put {
                    ($tile:expr, $oy:expr) => {
                        for (r, sums) in $tile.iter().enumerate() {
                            for (b, &a) in sums.iter().enumerate().take(filters) {
                                let at = (f0 + b) * positions + ($oy + r) * g.ow + ox0;
                                store_first(&mut y[at..at + n], a);
                            }
                        }
                    };
                }
                if rows == ROWS {
                    put!(run_tile::<KW, ROWS, FUSED>(i, &start, f0, oy, ox0), oy);
                } else {
                    for r in oy..oy + rows {
                        put!(run_tile::<KW, 1, FUSED>(i, &start, f0, r, ox0), r);
                    }
                }
            }
            oy += rows;
        }
        f0 += NB;
    }
}

/// The sums of filters `f0 ..f0 + 8` for the runs of 16 columns from `ox0` in output rows
/// `oy ..oy + R`. The window rows are those of any of the `R` rows that do not lie wholly in
/// the padding above or below the input; for the other rows, the ones that do add `w · 0`
/// (as the padding beside the input does).
#[inline]
#[target_feature(enable = "avx512f")]
#[allow(clippy::needless_range_loop)]
fn run_tile<const KW: usize, const R: usize, const FUSED: bool>(
    i: Inputs<'_>,
    start: &[f32; NB],
    f0: usize,
    oy: usize,
    ox0: usize,
) -> [[__m512; NB]; R] {
    let g = i.g;
    let kw = if KW == 0 { g.kw } else { KW };
    let mut acc = [[_mm512_set1_ps(0.0); NB]; R];
    for row in acc.iter_mut() {
        for (a, &s) in row.iter_mut().zip(start) {
            *a = _mm512_set1_ps(s);
        }
    }
    let window_rows = i.rows(oy + R - 1).start..i.rows(oy).end;
    let top = oy * g.sh;
    for c in 0..g.c {
        for ky in window_rows.clone() {
            let taps = &i.weights[(c * g.kh + ky) * kw * i.fp + f0..][..(kw - 1) * i.fp + NB];
            let first = (c * i.height + top + ky) * i.width + ox0;
            let lines = &i.xp[first..][..(R - 1) * i.width + kw - 1 + LANES];
            for kx in 0..kw {
                let xs: [__m512; R] = core::array::from_fn(|r| {
                    load(
                        lines[r * i.width + kx..][..LANES]
                            .try_into()
                            .expect("a run"),
                    )
                });
                let w: &[f32; NB] = taps[kx * i.fp..][..NB].try_into().expect("8 filters");
                for b in 0..NB {
                    let w = _mm512_set1_ps(w[b]);
                    for r in 0..R {
                        acc[r][b] = multiply_add::<FUSED>(w, xs[r], acc[r][b]);
                    }
                }
            }
        }
    }
    acc
}

/// Column pairs of a pair tile ([`convolve_pairs`]): 12 output columns, as
/// `implicit::PAIR_RUN` widens the padded rows for.
const PAIRS: usize = 6;

/// Output rows of a pair tile ([`convolve_pairs`]): 18 registers of sums (with 24, the
/// compiler kept a copy of some in memory).
const PAIR_ROWS: usize = 3;

/// A stride-1 convolution of at most 8 filters, with two neighbouring output columns in the
/// lanes: lane `2k + j` sums filter `k` at column `ox + j`. Each tap's 8 weights are loaded
/// once and each doubled into a pair of lanes; each pair of input values is one 64-bit
/// broadcast. For layers of 8 filters, all 16 lanes hold sums whatever the width of the rows
/// (the runs of [`convolve_runs`] fill 12 of 16 lanes on rows of 12 or 24 columns). A tile is
/// 6 pairs (12 columns) of up to [`PAIR_ROWS`] output rows; its sums are unpaired into the
/// filters' planes by an 8 x 8 transposition of 64-bit pairs.
#[target_feature(enable = "avx512f")]
pub(crate) fn convolve_pairs<const FUSED: bool>(i: Inputs<'_>, y: &mut [f32]) {
    match i.g.kw {
        5 => pairs::<5, FUSED>(i, y),
        3 => pairs::<3, FUSED>(i, y),
        _ => pairs::<0, FUSED>(i, y),
    }
}

/// [`convolve_pairs`] for windows `KW` wide (`0`: as wide as the geometry says).
#[inline]
#[target_feature(enable = "avx512f")]
fn pairs<const KW: usize, const FUSED: bool>(i: Inputs<'_>, y: &mut [f32]) {
    let g = i.g;
    debug_assert!(g.sw == 1 && g.f <= NB);
    let positions = g.oh * g.ow;
    let mut start = [0.0; LANES];
    if let Some(bias) = i.bias {
        for (k, &b) in bias.iter().enumerate().take(g.f) {
            start[2 * k..2 * k + 2].fill(b);
        }
    }
    let start = load(&start);
    let mut oy = 0;
    while oy < g.oh {
        let rows = PAIR_ROWS.min(g.oh - oy);
        for ox0 in (0..g.ow).step_by(2 * PAIRS) {
            let n = (2 * PAIRS).min(g.ow - ox0);
            // The first `n` columns of each filter in each row of a tile (written out twice:
            // as a function, it was not inlined).
            macro_rules! put {
                ($tile:expr, $oy:expr) => {
                    for (r, sums) in $tile.iter().enumerate() {
                        for (k, &v) in unpair(sums).iter().enumerate().take(g.f) {
                            let at = k * positions + ($oy + r) * g.ow + ox0;
                            store_first(&mut y[at..at + n], v);
                        }
                    }
                };
            }
            if rows == PAIR_ROWS {
                put!(pair_tile::<KW, PAIR_ROWS, FUSED>(i, start, oy, ox0), oy);
            } else {
                for r in oy..oy + rows {
                    put!(pair_tile::<KW, 1, FUSED>(i, start, r, ox0), r);
                }
            }
        }
        oy += rows;
    }
}

/// The paired sums ([`convolve_pairs`]) of the 6 column pairs from `ox0` in output rows
/// `oy ..oy + R`. The window rows are those of any of the `R` rows that do not lie wholly in
/// the padding above or below the input; for the other rows, the ones that do add `w · 0`
/// (as the padding beside the input does).
#[inline]
#[target_feature(enable = "avx512f")]
#[allow(clippy::needless_range_loop)]
fn pair_tile<const KW: usize, const R: usize, const FUSED: bool>(
    i: Inputs<'_>,
    start: __m512,
    oy: usize,
    ox0: usize,
) -> [[__m512; PAIRS]; R] {
    let g = i.g;
    let kw = if KW == 0 { g.kw } else { KW };
    let mut acc = [[start; PAIRS]; R];
    let doubled = doubled();
    let window_rows = i.rows(oy + R - 1).start..i.rows(oy).end;
    let top = oy * g.sh;
    for c in 0..g.c {
        for ky in window_rows.clone() {
            let taps = &i.weights[(c * g.kh + ky) * kw * i.fp..][..(kw - 1) * i.fp + LANES];
            let first = (c * i.height + top + ky) * i.width + ox0;
            let lines = &i.xp[first..][..(R - 1) * i.width + kw - 1 + 2 * PAIRS];
            for kx in 0..kw {
                let w = load(taps[kx * i.fp..][..LANES].try_into().expect("16 weights"));
                let w = _mm512_permutexvar_ps(doubled, w);
                for r in 0..R {
                    let xs: &[f32; 2 * PAIRS] = lines[r * i.width + kx..][..2 * PAIRS]
                        .try_into()
                        .expect("a run");
                    for p in 0..PAIRS {
                        let x = broadcast_pair(xs[2 * p..2 * p + 2].try_into().expect("a pair"));
                        acc[r][p] = multiply_add::<FUSED>(w, x, acc[r][p]);
                    }
                }
            }
        }
    }
    acc
}

/// The sums of a row of a pair tile by filter: register `k` holds filter `k`'s 12 columns
/// (lanes 12 to 15 are zero). With each register's 8 pairs of lanes as one 64-bit value, an
/// 8 x 8 transposition of the 6 pairs' registers (and two of zeros): pairs interleaved, then
/// 128-bit quarters twice.
#[inline]
#[target_feature(enable = "avx512f")]
fn unpair(sums: &[__m512; PAIRS]) -> [__m512; NB] {
    let zero = _mm512_castps_pd(_mm512_set1_ps(0.0));
    let r: [__m512d; 8] =
        core::array::from_fn(|p| sums.get(p).map_or(zero, |&s| _mm512_castps_pd(s)));
    // t[2m], t[2m + 1]: the even and odd pairs of rows 2m and 2m + 1, interleaved.
    let t: [__m512d; 8] = core::array::from_fn(|k| {
        let (a, b) = (r[k / 2 * 2], r[k / 2 * 2 + 1]);
        if k % 2 == 0 {
            _mm512_unpacklo_pd(a, b)
        } else {
            _mm512_unpackhi_pd(a, b)
        }
    });
    // u[4h + m] (m = 0, 1: even pairs; 2, 3: odd): pairs m', m' + 4 of rows 4h ..4h + 4,
    // with m' = 0, 2, 1, 3 for m = 0, 1, 2, 3.
    let u: [__m512d; 8] = core::array::from_fn(|k| {
        let (h, m) = (k / 4 * 4, k % 4);
        let (a, b) = (t[h + m / 2], t[h + m / 2 + 2]);
        if m % 2 == 0 {
            _mm512_shuffle_f64x2::<0x88>(a, b)
        } else {
            _mm512_shuffle_f64x2::<0xdd>(a, b)
        }
    });
    // Filter k: its pair from every row, from the rows 0..4 (u[m]) and 4..8 (u[m + 4]).
    core::array::from_fn(|k| {
        let m = [0, 2, 1, 3][k % 4];
        let (a, b) = (u[m], u[m + 4]);
        _mm512_castpd_ps(if k < 4 {
            _mm512_shuffle_f64x2::<0x88>(a, b)
        } else {
            _mm512_shuffle_f64x2::<0xdd>(a, b)
        })
    })
}

/// A stride-1 convolution with 16 filters in the lanes, at `PB` neighbouring positions of
/// [`FILTER_ROWS`] output rows (12, 8 or 4 positions, whichever divides the rows, else 4 and
/// then one at a time); the rows share each tap's register of weights.
#[target_feature(enable = "avx512f")]
pub(crate) fn convolve_filters<const FUSED: bool>(i: Inputs<'_>, y: &mut [f32]) {
    match i.g.kw {
        5 => filters::<5, FUSED>(i, y),
        3 => filters::<3, FUSED>(i, y),
        _ => filters::<0, FUSED>(i, y),
    }
}

/// Output rows of a filter tile ([`convolve_filters`]): up to 24 registers of sums.
const FILTER_ROWS: usize = 2;

/// [`convolve_filters`] for windows `KW` wide (`0`: as wide as the geometry says).
#[inline]
#[target_feature(enable = "avx512f")]
fn filters<const KW: usize, const FUSED: bool>(i: Inputs<'_>, y: &mut [f32]) {
    let g = i.g;
    debug_assert_eq!(g.sw, 1);
    let mut f0 = 0;
    while f0 < g.f {
        let mut start = [0.0; LANES];
        let filters = LANES.min(g.f - f0);
        if let Some(bias) = i.bias {
            start[..filters].copy_from_slice(&bias[f0..f0 + filters]);
        }
        let start = load(&start);
        let mut oy = 0;
        while oy < g.oh {
            if oy + FILTER_ROWS <= g.oh {
                row_tiles::<KW, FILTER_ROWS, FUSED>(i, start, f0, oy, y);
                oy += FILTER_ROWS;
            } else {
                row_tiles::<KW, 1, FUSED>(i, start, f0, oy, y);
                oy += 1;
            }
        }
        f0 += LANES;
    }
}

/// The outputs of filters `f0 ..f0 + 16` in rows `oy ..oy + R`, by tiles of positions.
#[inline]
#[target_feature(enable = "avx512f")]
fn row_tiles<const KW: usize, const R: usize, const FUSED: bool>(
    i: Inputs<'_>,
    start: __m512,
    f0: usize,
    oy: usize,
    y: &mut [f32],
) {
    let ow = i.g.ow;
    let mut ox = 0;
    if ow.is_multiple_of(12) {
        while ox < ow {
            positions_tile::<KW, 12, R, FUSED>(i, start, f0, oy, ox, y);
            ox += 12;
        }
    } else if ow.is_multiple_of(8) {
        while ox < ow {
            positions_tile::<KW, 8, R, FUSED>(i, start, f0, oy, ox, y);
            ox += 8;
        }
    }
    while ox + 4 <= ow {
        positions_tile::<KW, 4, R, FUSED>(i, start, f0, oy, ox, y);
        ox += 4;
    }
    while ox < ow {
        positions_tile::<KW, 1, R, FUSED>(i, start, f0, oy, ox, y);
        ox += 1;
    }
}

/// The outputs of filters `f0 ..f0 + 16` at positions `ox ..ox + PB` of rows `oy ..oy + R`.
/// The window rows are those of any of the `R` rows that do not lie wholly in the padding
/// above or below the input; for the other rows, the ones that do add `w · 0` (as the
/// padding beside the input does).
#[inline]
#[target_feature(enable = "avx512f")]
#[allow(clippy::needless_range_loop)]
fn positions_tile<const KW: usize, const PB: usize, const R: usize, const FUSED: bool>(
    i: Inputs<'_>,
    start: __m512,
    f0: usize,
    oy: usize,
    ox: usize,
    y: &mut [f32],
) {
    let g = i.g;
    let kw = if KW == 0 { g.kw } else { KW };
    let mut acc = [[start; PB]; R];
    let top = oy * g.sh;
    let window_rows = i.rows(oy + R - 1).start..i.rows(oy).end;
    for c in 0..g.c {
        for ky in window_rows.clone() {
            let first = (c * i.height + top + ky) * i.width + ox;
            let lines = &i.xp[first..][..(R - 1) * i.width + PB - 1 + kw];
            let taps = &i.weights[(c * g.kh + ky) * kw * i.fp + f0..][..(kw - 1) * i.fp + LANES];
            for kx in 0..kw {
                let w = load(taps[kx * i.fp..][..LANES].try_into().expect("16 filters"));
                for r in 0..R {
                    let xs: &[f32; PB] = lines[r * i.width + kx..][..PB].try_into().expect("a run");
                    for j in 0..PB {
                        acc[r][j] = multiply_add::<FUSED>(w, _mm512_set1_ps(xs[j]), acc[r][j]);
                    }
                }
            }
        }
    }
    let positions = g.oh * g.ow;
    let filters = LANES.min(g.f - f0);
    for (r, sums) in acc.iter().enumerate() {
        for (j, &a) in sums.iter().enumerate() {
            let mut lanes = [0.0; LANES];
            store(&mut lanes, a);
            for (l, &v) in lanes.iter().enumerate().take(filters) {
                y[(f0 + l) * positions + (oy + r) * g.ow + ox + j] = v;
            }
        }
    }
}

/// What the filter-gradient tiles read: the sample zero-padded as for the convolution, and
/// the output gradient position by position (`dyt[p·fp + i]`, `fp` filters to a row).
#[derive(Clone, Copy)]
pub(crate) struct GradInputs<'a> {
    pub(crate) g: &'a Geometry,
    pub(crate) width: usize,
    pub(crate) height: usize,
    pub(crate) fp: usize,
    pub(crate) xp: &'a [f32],
    pub(crate) dyt: &'a [f32],
}

/// The filter gradient of taps `t ..t + R·KW` (whole rows of a `KW`-wide window) for
/// filters `f0 ..f0 + 16`, added to `grad` (row `t − first` holds tap `t`): each of the
/// `R·KW` registers of sums runs over the positions in order. Returns the number of taps.
#[target_feature(enable = "avx512f")]
pub(crate) fn filter_grad_rows<const R: usize, const KW: usize>(
    i: GradInputs<'_>,
    t: usize,
    f0: usize,
    first: usize,
    grad: &mut [f32],
) -> usize {
    let (g, width, fp) = (i.g, i.width, i.fp);
    let mut starts = [0; R];
    for (r, s) in starts.iter_mut().enumerate() {
        let row = t / KW + r;
        *s = (row / g.kh * i.height + row % g.kh) * width;
    }
    let span = (g.ow - 1) * g.sw + KW;
    let mut acc = [[_mm512_set1_ps(0.0); KW]; R];
    for (oy, dy) in i.dyt.chunks_exact(g.ow * fp).take(g.oh).enumerate() {
        let mut lines: [&[f32]; R] = [&[]; R];
        for (line, &s) in lines.iter_mut().zip(&starts) {
            *line = &i.xp[s + oy * g.sh * width..][..span];
        }
        for ox in 0..g.ow {
            let d = load(dy[ox * fp + f0..][..LANES].try_into().expect("16 filters"));
            acc = grad_step(acc, &lines, ox * g.sw, d);
        }
    }
    add_sums(acc, grad, (t - first) * fp + f0, fp);
    R * KW
}

/// `grad[at + k·fp ..][..16] += acc[k]` for the sums of [`filter_grad_rows`], taken by value
/// and indexed with constants: iterating over the array kept it in memory, and the tile's
/// loop then stored every sum at every position.
#[inline]
#[target_feature(enable = "avx512f")]
#[allow(clippy::needless_range_loop)]
fn add_sums<const R: usize, const KW: usize>(
    acc: [[__m512; KW]; R],
    grad: &mut [f32],
    at: usize,
    fp: usize,
) {
    for r in 0..R {
        for k in 0..KW {
            let at = at + (r * KW + k) * fp;
            let sums: &mut [f32; LANES] = (&mut grad[at..at + LANES]).try_into().expect("16 sums");
            let total = _mm512_add_ps(load(sums), acc[r][k]);
            store(sums, total);
        }
    }
}

/// One position of [`filter_grad_rows`]: `acc[r][k] += xp[r][at + k] · d`, one fused
/// multiply-add. The sums go by value and are indexed with constants, so that they stay in
/// registers (through iterators over the array, they were stored to memory at every position).
#[inline]
#[target_feature(enable = "avx512f")]
#[allow(clippy::needless_range_loop)]
fn grad_step<const R: usize, const KW: usize>(
    mut acc: [[__m512; KW]; R],
    lines: &[&[f32]; R],
    at: usize,
    d: __m512,
) -> [[__m512; KW]; R] {
    for r in 0..R {
        let xs: &[f32; KW] = lines[r][at..][..KW].try_into().expect("a window row");
        for k in 0..KW {
            acc[r][k] = _mm512_fmadd_ps(_mm512_set1_ps(xs[k]), d, acc[r][k]);
        }
    }
    acc
}

/// [`filter_grad_rows`] for 8 filters or fewer, with two neighbouring taps of a window row in
/// the lanes: lane `2k + j` of register `p` sums filter `k`'s tap `2p + j`, so a row of `KW`
/// taps takes `KP = ⌈KW / 2⌉` registers, not `KW` half-empty ones. The pair of input values
/// is one 64-bit broadcast, the output gradient's 8 filters are doubled into pairs of lanes.
/// Each sum still runs over the positions in order; the partner lane of an odd row's last
/// tap sums a tap that is not there, and is never stored.
#[target_feature(enable = "avx512f")]
pub(crate) fn filter_grad_pairs<const R: usize, const KW: usize, const KP: usize>(
    i: GradInputs<'_>,
    t: usize,
    first: usize,
    grad: &mut [f32],
) -> usize {
    const { assert!(KP == KW.div_ceil(2)) };
    let (g, width, fp) = (i.g, i.width, i.fp);
    debug_assert!(g.f <= NB);
    let mut starts = [0; R];
    for (r, s) in starts.iter_mut().enumerate() {
        let row = t / KW + r;
        *s = (row / g.kh * i.height + row % g.kh) * width;
    }
    // The partner of an odd row's last tap is read too (`Padded` leaves room for it).
    let span = (g.ow - 1) * g.sw + 2 * KP;
    let doubled = doubled();
    let mut acc = [[_mm512_set1_ps(0.0); KP]; R];
    for (oy, dy) in i.dyt.chunks_exact(g.ow * fp).take(g.oh).enumerate() {
        let mut lines: [&[f32]; R] = [&[]; R];
        for (line, &s) in lines.iter_mut().zip(&starts) {
            *line = &i.xp[s + oy * g.sh * width..][..span];
        }
        for ox in 0..g.ow {
            let d = load(dy[ox * fp..][..LANES].try_into().expect("16 filters"));
            acc = pair_grad_step(acc, &lines, ox * g.sw, _mm512_permutexvar_ps(doubled, d));
        }
    }
    add_pair_sums::<R, KW, KP>(acc, grad, (t - first) * fp, fp);
    R * KW
}

/// One position of [`filter_grad_pairs`]: `acc[r][p] += (xp[r][at + 2p], xp[r][at + 2p + 1])
/// · d`, the pair in every pair of lanes, one fused multiply-add. By value, indexed with
/// constants, as [`grad_step`].
#[inline]
#[target_feature(enable = "avx512f")]
#[allow(clippy::needless_range_loop)]
fn pair_grad_step<const R: usize, const KP: usize>(
    mut acc: [[__m512; KP]; R],
    lines: &[&[f32]; R],
    at: usize,
    d: __m512,
) -> [[__m512; KP]; R] {
    for r in 0..R {
        let xs = &lines[r][at..][..2 * KP];
        for p in 0..KP {
            let x = broadcast_pair(xs[2 * p..2 * p + 2].try_into().expect("a pair"));
            acc[r][p] = _mm512_fmadd_ps(x, d, acc[r][p]);
        }
    }
    acc
}

/// `grad[at + k·fp ..][..8] += ` the sums of tap `k` of [`filter_grad_pairs`] (its even or
/// odd lanes), for the taps that are there.
#[inline]
#[target_feature(enable = "avx512f")]
#[allow(clippy::needless_range_loop)]
fn add_pair_sums<const R: usize, const KW: usize, const KP: usize>(
    acc: [[__m512; KP]; R],
    grad: &mut [f32],
    at: usize,
    fp: usize,
) {
    // The first 8 lanes of the even and odd lanes.
    let even = evens();
    let odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    for r in 0..R {
        for p in 0..KP {
            for (j, lanes) in [even, odd].into_iter().enumerate() {
                if 2 * p + j < KW {
                    let at = at + (r * KW + 2 * p + j) * fp;
                    let sums = &mut grad[at..at + NB];
                    let tap = _mm512_permutexvar_ps(lanes, acc[r][p]);
                    store_first(sums, _mm512_add_ps(load_first(sums), tap));
                }
            }
        }
    }
}

/// `out[p·fp + i] = dy[i·positions + p]` for the `f` planes of `dy`, in blocks of 16 planes by
/// 16 positions transposed in registers (`implicit::transpose`). The filters `f ..fp` of a
/// block of 16 are written as zeros. With `bias`, `bias[i] += Σ dy[i]`: the transposed
/// columns added up in order as they go by, each plane's sum from zero.
#[target_feature(enable = "avx512f")]
pub(crate) fn transpose(
    f: usize,
    positions: usize,
    fp: usize,
    dy: &[f32],
    out: &mut [f32],
    mut bias: Option<&mut [f32]>,
) {
    for f0 in (0..f).step_by(LANES) {
        let planes = LANES.min(f - f0);
        let mut sums = _mm512_set1_ps(0.0);
        for p0 in (0..positions).step_by(LANES) {
            let n = LANES.min(positions - p0);
            let mut rows = [_mm512_set1_ps(0.0); LANES];
            for (i, row) in rows.iter_mut().enumerate().take(planes) {
                *row = load_first(&dy[(f0 + i) * positions + p0..][..n]);
            }
            for (j, &column) in transpose16(rows).iter().enumerate().take(n) {
                let at = (p0 + j) * fp + f0;
                store(
                    (&mut out[at..at + LANES]).try_into().expect("16 filters"),
                    column,
                );
                if bias.is_some() {
                    sums = _mm512_add_ps(sums, column);
                }
            }
        }
        if let Some(bias) = bias.as_deref_mut() {
            let bias = &mut bias[f0..f0 + planes];
            store_first(bias, _mm512_add_ps(load_first(bias), sums));
        }
    }
}

/// The 16 x 16 transpose of `r` (register `i` lane `j` becomes register `j` lane `i`): pairs
/// of lanes interleaved, then pairs of pairs, then the four 128-bit quarters twice.
#[inline]
#[target_feature(enable = "avx512f")]
fn transpose16(r: [__m512; LANES]) -> [__m512; LANES] {
    // Rows a, b, c, … (r[0], r[1], …): lanes within each quarter [a0 b0 a1 b1], [a2 b2 a3 b3].
    let t: [__m512; LANES] = core::array::from_fn(|k| {
        let (a, b) = (r[k / 2 * 2], r[k / 2 * 2 + 1]);
        if k % 2 == 0 {
            _mm512_unpacklo_ps(a, b)
        } else {
            _mm512_unpackhi_ps(a, b)
        }
    });
    // [a0 b0 c0 d0], [a1 b1 c1 d1], [a2 b2 c2 d2], [a3 b3 c3 d3] in each quarter, per 4 rows.
    let u: [__m512; LANES] = core::array::from_fn(|k| {
        let base = k / 4 * 4;
        let (a, b) = (
            _mm512_castps_pd(t[base + k % 4 / 2]),
            _mm512_castps_pd(t[base + k % 4 / 2 + 2]),
        );
        _mm512_castpd_ps(if k % 2 == 0 {
            _mm512_unpacklo_pd(a, b)
        } else {
            _mm512_unpackhi_pd(a, b)
        })
    });
    // Quarters: u[4g + m] holds columns m, m + 4, m + 8, m + 12 of rows 4g ..4g + 4.
    // v[m] = columns m, m + 8 of rows 0..4, 4..8; v[m + 4] = columns m + 4, m + 12 of the same;
    // v[m + 8], v[m + 12]: likewise of rows 8..12, 12..16.
    let v: [__m512; LANES] = core::array::from_fn(|k| {
        let (half, m) = (k / 8 * 8, k % 4);
        let (a, b) = (u[half + m], u[half + 4 + m]);
        if k % 8 < 4 {
            _mm512_shuffle_f32x4::<0x88>(a, b)
        } else {
            _mm512_shuffle_f32x4::<0xdd>(a, b)
        }
    });
    // Column j: its four quarters from the rows 0..8 (v[j % 8]) and 8..16 (v[j % 8 + 8]).
    core::array::from_fn(|j| {
        let (a, b) = (v[j % 8], v[j % 8 + 8]);
        if j < 8 {
            _mm512_shuffle_f32x4::<0x88>(a, b)
        } else {
            _mm512_shuffle_f32x4::<0xdd>(a, b)
        }
    })
}

/// `_mm512_permutexvar_ps(doubled(), v)`: lane `l` takes lane `l / 2` of `v`, doubling its
/// first 8 lanes into pairs of lanes (the pair tiles' weights and output gradients).
#[inline]
#[target_feature(enable = "avx512f")]
fn doubled() -> __m512i {
    _mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0)
}

/// Lane `l` of `_mm512_permutex2var_ps(a, evens(), b)` is lane `2l` of `a` then `b` (32
/// lanes), and of `_mm512_permutexvar_ps(evens(), v)` lane `2l` of `v` for `l < 8`; add one
/// for the odd lanes.
#[inline]
#[target_feature(enable = "avx512f")]
fn evens() -> __m512i {
    _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0)
}

/// The even and odd values of `x` (at most 32): two masked loads, unzipped.
#[inline]
#[target_feature(enable = "avx512f")]
fn unzip(x: &[f32]) -> (__m512, __m512) {
    let (lo, hi) = x.split_at(x.len().min(LANES));
    let (lo, hi) = (load_first(lo), load_first(hi));
    let even = evens();
    let odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    (
        _mm512_permutex2var_ps(lo, even, hi),
        _mm512_permutex2var_ps(lo, odd, hi),
    )
}

/// The lanes where `v` replaces `best` as a window's maximum: larger, or a NaN where `best`
/// is not (`window::wins`).
#[inline]
#[target_feature(enable = "avx512f")]
fn wins(v: __m512, best: __m512) -> __mmask16 {
    let nan = |x| _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(x, x);
    _mm512_cmp_ps_mask::<_CMP_GT_OQ>(v, best) | (nan(v) & !nan(best))
}

/// 2 x 2 max pooling with stride 2 of one sample (`c` planes of `h x w`), 16 outputs of a
/// row at a time: `y` gets each window's maximum and `taken` the index in the sample of the
/// input it took, the first largest row by row (a NaN wins), as `window::max_pool` chooses.
#[target_feature(enable = "avx512f")]
pub(crate) fn max_pool_2x2(g: &Geometry, x: &[f32], y: &mut [f32], taken: &mut [u32]) {
    let (plane, positions) = (g.plane(), g.positions());
    // Lane `l` starts its window at column `2l` of the pair of rows.
    let columns = evens();
    for c in 0..g.c {
        for oy in 0..g.oh {
            let first = c * plane + 2 * oy * g.w;
            for ox0 in (0..g.ow).step_by(LANES) {
                let n = LANES.min(g.ow - ox0);
                let (up_left, up_right) = unzip(&x[first + 2 * ox0..][..2 * n]);
                let (down_left, down_right) = unzip(&x[first + g.w + 2 * ox0..][..2 * n]);
                let right_up = wins(up_right, up_left);
                let right_down = wins(down_right, down_left);
                let upper = _mm512_mask_blend_ps(right_up, up_left, up_right);
                let lower = _mm512_mask_blend_ps(right_down, down_left, down_right);
                let below = wins(lower, upper);
                let right = (below & right_down) | (!below & right_up);
                let start = _mm512_set1_epi32((first + 2 * ox0) as i32);
                let mut index = _mm512_add_epi32(start, columns);
                index = _mm512_mask_add_epi32(index, below, index, _mm512_set1_epi32(g.w as i32));
                index = _mm512_mask_add_epi32(index, right, index, _mm512_set1_epi32(1));
                let at = c * positions + oy * g.ow + ox0;
                store_first(
                    &mut y[at..at + n],
                    _mm512_mask_blend_ps(below, upper, lower),
                );
                u32x16::store_first(&mut taken[at..at + n], index);
            }
        }
    }
}

/// The backward pass of [`max_pool_2x2`] for one sample: `dx` gets each output's gradient at
/// the input it took and zero elsewhere, every value written once (no zeroing first). The
/// gradient is written as `0 + dy`, as adding it to a zeroed `dx` gives (`+0` for `−0`).
#[target_feature(enable = "avx512f")]
pub(crate) fn max_unpool_2x2(g: &Geometry, dy: &[f32], taken: &[u32], dx: &mut [f32]) {
    let (plane, positions) = (g.plane(), g.positions());
    let columns = evens();
    let zero = _mm512_set1_ps(0.0);
    // Lanes 0..8 then 8..16 of `a` and `b`, interleaved: `a0 b0 a1 b1 …`.
    let low = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    let high = _mm512_add_epi32(low, _mm512_set1_epi32(8));
    let (one, w) = (_mm512_set1_epi32(1), _mm512_set1_epi32(g.w as i32));
    for c in 0..g.c {
        let dxc = &mut dx[c * plane..][..plane];
        for oy in 0..g.oh {
            let first = c * plane + 2 * oy * g.w;
            let (top, bottom) = dxc[2 * oy * g.w..][..2 * g.w].split_at_mut(g.w);
            for ox0 in (0..g.ow).step_by(LANES) {
                let n = LANES.min(g.ow - ox0);
                let at = c * positions + oy * g.ow + ox0;
                let d = _mm512_add_ps(zero, load_first(&dy[at..at + n]));
                let t = u32x16::load_first(&taken[at..at + n]);
                let left = _mm512_add_epi32(_mm512_set1_epi32((first + 2 * ox0) as i32), columns);
                for (row, left) in [(&mut *top, left), (&mut *bottom, _mm512_add_epi32(left, w))] {
                    let at_left = _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(t, left), d);
                    let right = _mm512_add_epi32(left, one);
                    let at_right = _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(t, right), d);
                    let out = &mut row[2 * ox0..][..2 * n];
                    let (lo, hi) = out.split_at_mut(out.len().min(LANES));
                    store_first(lo, _mm512_permutex2var_ps(at_left, low, at_right));
                    store_first(hi, _mm512_permutex2var_ps(at_left, high, at_right));
                }
            }
            // A last column that no window covers (odd widths).
            top[2 * g.ow..].fill(0.0);
            bottom[2 * g.ow..].fill(0.0);
        }
        // A last row that no window covers (odd heights).
        dxc[2 * g.oh * g.w..].fill(0.0);
    }
}
