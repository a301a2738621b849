//! The arithmetic shared by convolutions and pooling: a window sliding over the planes of a
//! sample, and the kernels of one sample on plain slices.
//!
//! A sample is a flat vector in PyTorch's channel-major layout: channel `c`, row `y`, column
//! `x` of a `C x H x W` sample is value `(c·H + y)·W + x`; a `C x L` signal is the same with
//! `H = 1`.

use crate::base::scalar::Scalar;
use crate::base::simd;

/// The geometry of a window over a sample: `c` input planes of `h x w`, `f` output planes of
/// `oh x ow`, a `kh x kw` window moved by `sh`, `sw` over the input padded by `ph`, `pw`
/// zeros. Every layer builds it from its type's constants, so the compiler knows each value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Geometry {
    pub(crate) c: usize,
    pub(crate) f: usize,
    pub(crate) kh: usize,
    pub(crate) kw: usize,
    pub(crate) sh: usize,
    pub(crate) sw: usize,
    pub(crate) ph: usize,
    pub(crate) pw: usize,
    pub(crate) h: usize,
    pub(crate) w: usize,
    pub(crate) oh: usize,
    pub(crate) ow: usize,
}

impl Geometry {
    /// A 2-D window of `k x k`, stride `s`, padding `p` over `c x h x w`, giving `f` planes.
    #[allow(clippy::too_many_arguments)]
    pub(crate) const fn square(
        c: usize,
        f: usize,
        k: usize,
        s: usize,
        p: usize,
        h: usize,
        w: usize,
    ) -> Self {
        Geometry {
            c,
            f,
            kh: k,
            kw: k,
            sh: s,
            sw: s,
            ph: p,
            pw: p,
            h,
            w,
            oh: out_side(h, k, s, p),
            ow: out_side(w, k, s, p),
        }
    }

    /// A 1-D window of `k`, stride `s`, padding `p` over `c x l`, giving `f` signals.
    pub(crate) const fn line(c: usize, f: usize, k: usize, s: usize, p: usize, l: usize) -> Self {
        Geometry {
            c,
            f,
            kh: 1,
            kw: k,
            sh: 1,
            sw: s,
            ph: 0,
            pw: p,
            h: 1,
            w: l,
            oh: 1,
            ow: out_side(l, k, s, p),
        }
    }

    /// Values of one input plane.
    #[inline(always)]
    pub(crate) const fn plane(&self) -> usize {
        self.h * self.w
    }

    /// Output positions per plane.
    #[inline(always)]
    pub(crate) const fn positions(&self) -> usize {
        self.oh * self.ow
    }

    /// Values of one window over all input planes (a row of the unfolded input).
    #[inline(always)]
    pub(crate) const fn patch(&self) -> usize {
        self.c * self.kh * self.kw
    }

    /// Output positions along one axis whose input index `o·s + k − p` is inside `0..len`.
    #[inline(always)]
    fn valid(out: usize, s: usize, k: usize, p: usize, len: usize) -> core::ops::Range<usize> {
        let lo = if p > k { (p - k).div_ceil(s) } else { 0 };
        let hi = if len + p > k {
            ((len - 1 + p - k) / s + 1).min(out)
        } else {
            0
        };
        lo.min(hi)..hi
    }

    /// The output rows whose window row `ky` falls inside the input.
    #[inline(always)]
    pub(crate) fn rows(&self, ky: usize) -> core::ops::Range<usize> {
        Self::valid(self.oh, self.sh, ky, self.ph, self.h)
    }

    /// The output columns whose window column `kx` falls inside the input.
    #[inline(always)]
    pub(crate) fn cols(&self, kx: usize) -> core::ops::Range<usize> {
        Self::valid(self.ow, self.sw, kx, self.pw, self.w)
    }

    /// The input row of output row `oy` and window row `ky` (inside [`Geometry::rows`]).
    #[inline(always)]
    pub(crate) fn in_row(&self, oy: usize, ky: usize) -> usize {
        oy * self.sh + ky - self.ph
    }

    /// The input column of output column `ox` and window column `kx`.
    #[inline(always)]
    pub(crate) fn in_col(&self, ox: usize, kx: usize) -> usize {
        ox * self.sw + kx - self.pw
    }
}

/// PyTorch's output side: `(n + 2p − k) / s + 1`, rounded down (0 where the window does not
/// fit, which the layers' shape checks rule out).
pub(crate) const fn out_side(n: usize, k: usize, s: usize, p: usize) -> usize {
    if s == 0 || k > n + 2 * p {
        0
    } else {
        (n + 2 * p - k) / s + 1
    }
}

/// `out[o] += w · input[o·s + kx − p]` over the valid columns `cols` of one output row.
#[inline(always)]
fn axpy_row<T: Scalar>(
    g: &Geometry,
    kx: usize,
    cols: core::ops::Range<usize>,
    w: T,
    input: &[T],
    out: &mut [T],
) {
    if cols.is_empty() {
        return;
    }
    if g.sw == 1 {
        let start = g.in_col(cols.start, kx);
        let out = &mut out[cols.clone()];
        for (o, &x) in out.iter_mut().zip(&input[start..start + cols.len()]) {
            *o += w * x;
        }
    } else {
        for ox in cols {
            out[ox] += w * input[g.in_col(ox, kx)];
        }
    }
}

/// The convolution of one sample: `y` (`f` planes of `oh x ow`) gets `bias` (or zero) plus
/// the correlation of `x` with each filter of `weight` (PyTorch's `[f, c, kh, kw]`, row-major).
/// Each output is summed over input channels, then window rows, then window columns.
pub(crate) fn conv_forward<T: Scalar>(
    g: &Geometry,
    weight: &[T],
    bias: Option<&[T]>,
    x: &[T],
    y: &mut [T],
) {
    let (plane, positions) = (g.plane(), g.positions());
    for (f, yf) in y.chunks_exact_mut(positions).enumerate().take(g.f) {
        yf.fill(bias.map_or(T::zero(), |b| b[f]));
        let filter = &weight[f * g.patch()..][..g.patch()];
        for (c, xc) in x.chunks_exact(plane).enumerate().take(g.c) {
            for ky in 0..g.kh {
                let cols = |kx| g.cols(kx);
                for oy in g.rows(ky) {
                    let row = &xc[g.in_row(oy, ky) * g.w..][..g.w];
                    let out = &mut yf[oy * g.ow..][..g.ow];
                    for kx in 0..g.kw {
                        let w = filter[(c * g.kh + ky) * g.kw + kx];
                        axpy_row(g, kx, cols(kx), w, row, out);
                    }
                }
            }
        }
    }
}

/// The backward pass of one sample's convolution: adds `∂L/∂W` to `weight_grad` and `∂L/∂b`
/// to `bias_grad` when they are given, and when `dx` is given (zeroed by the caller) adds
/// `∂L/∂x` to it.
pub(crate) fn conv_backward<T: Scalar>(
    g: &Geometry,
    weight: &[T],
    x: &[T],
    dy: &[T],
    mut weight_grad: Option<&mut [T]>,
    bias_grad: Option<&mut [T]>,
    mut dx: Option<&mut [T]>,
) {
    let (plane, positions) = (g.plane(), g.positions());
    if let Some(bias_grad) = bias_grad {
        for (b, dyf) in bias_grad.iter_mut().zip(dy.chunks_exact(positions)) {
            *b += dyf.iter().fold(T::zero(), |s, &v| s + v);
        }
    }
    for (f, dyf) in dy.chunks_exact(positions).enumerate().take(g.f) {
        for c in 0..g.c {
            let xc = &x[c * plane..][..plane];
            for ky in 0..g.kh {
                for kx in 0..g.kw {
                    let at = ((f * g.c + c) * g.kh + ky) * g.kw + kx;
                    if let Some(weight_grad) = weight_grad.as_deref_mut() {
                        let mut sum = T::zero();
                        for oy in g.rows(ky) {
                            let iy = g.in_row(oy, ky);
                            for ox in g.cols(kx) {
                                sum += dyf[oy * g.ow + ox] * xc[iy * g.w + g.in_col(ox, kx)];
                            }
                        }
                        weight_grad[at] += sum;
                    }
                    if let Some(dx) = dx.as_deref_mut() {
                        let w = weight[at];
                        let dxc = &mut dx[c * plane..][..plane];
                        for oy in g.rows(ky) {
                            let iy = g.in_row(oy, ky);
                            for ox in g.cols(kx) {
                                dxc[iy * g.w + g.in_col(ox, kx)] += w * dyf[oy * g.ow + ox];
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Folds `cols` (a `patch × positions` matrix of input gradients per window place) back onto
/// the sample: `dx` (zeroed by the caller) gets the sum over the window places of each input.
pub(crate) fn col2im<T: Scalar>(g: &Geometry, cols: &[T], dx: &mut [T]) {
    let (plane, positions) = (g.plane(), g.positions());
    let mut rows = cols.chunks_exact(positions);
    for c in 0..g.c {
        let dxc = &mut dx[c * plane..][..plane];
        for ky in 0..g.kh {
            for kx in 0..g.kw {
                let row = rows.next().expect("patch rows");
                let out_cols = g.cols(kx);
                for oy in g.rows(ky) {
                    let input = &mut dxc[g.in_row(oy, ky) * g.w..][..g.w];
                    let grads = &row[oy * g.ow..][..g.ow];
                    for ox in out_cols.clone() {
                        input[g.in_col(ox, kx)] += grads[ox];
                    }
                }
            }
        }
    }
}

/// Pooling of one sample: each output is the maximum (`max`) or the mean of its window, plane
/// by plane (`g.c == g.f`, no padding). A NaN in a window wins the maximum, as in PyTorch.
pub(crate) fn pool_forward<T: Scalar>(g: &Geometry, max: bool, x: &[T], y: &mut [T]) {
    if max {
        max_pool(g, x, y, |_, _| {});
        return;
    }
    let (plane, positions) = (g.plane(), g.positions());
    let scale = T::one() / T::of((g.kh * g.kw) as f64);
    for (xc, yc) in x.chunks_exact(plane).zip(y.chunks_exact_mut(positions)) {
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                yc[oy * g.ow + ox] = window_sum(g, xc, oy, ox) * scale;
            }
        }
    }
}

/// Max pooling of one sample, calling `record(output, input)` with the index in the sample of
/// the input each output took (the first largest of its window, row by row; a NaN wins).
#[inline(always)]
pub(crate) fn max_pool<T: Scalar>(
    g: &Geometry,
    x: &[T],
    y: &mut [T],
    mut record: impl FnMut(usize, usize),
) {
    let (plane, positions) = (g.plane(), g.positions());
    let planes = x.chunks_exact(plane).zip(y.chunks_exact_mut(positions));
    for (c, (xc, yc)) in planes.enumerate() {
        if g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 {
            // The common 2x2 window, stride 2, as a tree of selections that the compiler
            // turns into vector code: the first largest of each row's pair, then of the two
            // rows (a tie keeps the top row: row-by-row order).
            for oy in 0..g.oh {
                let top = &xc[2 * oy * g.w..][..g.w];
                let bottom = &xc[(2 * oy + 1) * g.w..][..g.w];
                let out = &mut yc[oy * g.ow..][..g.ow];
                for (ox, o) in out.iter_mut().enumerate() {
                    let (t0, t1, b0, b1) = (
                        top[2 * ox],
                        top[2 * ox + 1],
                        bottom[2 * ox],
                        bottom[2 * ox + 1],
                    );
                    let (up, down) = (wins(t1, t0), wins(b1, b0));
                    let (v01, v23) = (if up { t1 } else { t0 }, if down { b1 } else { b0 });
                    let lower = wins(v23, v01);
                    *o = if lower { v23 } else { v01 };
                    let column = 2 * ox + usize::from(if lower { down } else { up });
                    let at = (2 * oy + usize::from(lower)) * g.w + column;
                    record(c * positions + oy * g.ow + ox, c * plane + at);
                }
            }
        } else {
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    let at = argmax(g, xc, oy, ox);
                    yc[oy * g.ow + ox] = xc[at];
                    record(c * positions + oy * g.ow + ox, c * plane + at);
                }
            }
        }
    }
}

/// Max pooling of one sample of a minibatch, writing to `taken` (one per output) the index in
/// the sample of the input each output took, as [`max_pool`] chooses it.
#[inline(always)]
fn max_pool_taken_kernel<T: Scalar>(g: &Geometry, x: &[T], y: &mut [T], taken: &mut [u32]) {
    if !(g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2) {
        // Indices fit in u32: the layers' shape checks say so.
        max_pool(g, x, y, |o, i| taken[o] = i as u32);
        return;
    }
    let (plane, positions) = (g.plane(), g.positions());
    let planes = x.chunks_exact(plane).zip(y.chunks_exact_mut(positions));
    for (c, ((xc, yc), tc)) in planes.zip(taken.chunks_exact_mut(positions)).enumerate() {
        for oy in 0..g.oh {
            let top = &xc[2 * oy * g.w..][..2 * g.ow];
            let bottom = &xc[(2 * oy + 1) * g.w..][..2 * g.ow];
            let out = &mut yc[oy * g.ow..][..g.ow];
            let took = &mut tc[oy * g.ow..][..g.ow];
            let first = (c * plane + 2 * oy * g.w) as u32;
            // Four outputs at a time, then one at a time: rows here are short (12 or 4
            // outputs in the reference network), and the compiler's 8-wide loop left most of
            // them to its one-at-a-time remainder.
            let (quads, rest) = (g.ow / 4 * 4, g.w as u32);
            let (out, out_rest) = out.split_at_mut(quads);
            let (took, took_rest) = took.split_at_mut(quads);
            let windows = top.chunks_exact(8).zip(bottom.chunks_exact(8));
            let outputs = out.chunks_exact_mut(4).zip(took.chunks_exact_mut(4));
            for (q, ((o, t), (up, down))) in outputs.zip(windows).enumerate() {
                let (o, t): (&mut [T; 4], &mut [u32; 4]) = (
                    o.try_into().expect("4 outputs"),
                    t.try_into().expect("4 outputs"),
                );
                for j in 0..4 {
                    let ox = 4 * q + j;
                    (o[j], t[j]) = pool_pair(&up[2 * j..], &down[2 * j..], first, rest, ox);
                }
            }
            let pairs = top[2 * quads..]
                .chunks_exact(2)
                .zip(bottom[2 * quads..].chunks_exact(2));
            let outputs = out_rest.iter_mut().zip(took_rest);
            for (j, ((o, t), (up, down))) in outputs.zip(pairs).enumerate() {
                (*o, *t) = pool_pair(up, down, first, rest, quads + j);
            }
        }
    }
}

/// The maximum of the 2 x 2 window at column pair `ox` (`up` and `down` from its columns) and
/// the index of the input it took, for [`max_pool_taken_kernel`]: the first largest, row by
/// row, as [`max_pool`] chooses.
#[inline(always)]
fn pool_pair<T: Scalar>(up: &[T], down: &[T], first: u32, w: u32, ox: usize) -> (T, u32) {
    let (right_up, right_down) = (wins(up[1], up[0]), wins(down[1], down[0]));
    let upper = if right_up { up[1] } else { up[0] };
    let lower = if right_down { down[1] } else { down[0] };
    let below = wins(lower, upper);
    let right = if below { right_down } else { right_up };
    (
        if below { lower } else { upper },
        first + u32::from(below) * w + 2 * ox as u32 + u32::from(right),
    )
}

simd::multiversion! {
    /// [`max_pool_taken_kernel`], compiled for the CPU's vector width.
    pub(crate) fn max_pool_taken[T: Scalar](g: &Geometry, x: &[T], y: &mut [T], taken: &mut [u32]) = max_pool_taken_kernel;
}

/// Whether `v` replaces `best` as a window's maximum: larger, or a NaN where `best` is not.
#[inline(always)]
#[allow(clippy::eq_op)] // `v != v` is the NaN test, which `Scalar` has no method for
fn wins<T: Scalar>(v: T, best: T) -> bool {
    // `|` and `&`, not `||` and `&&`: no branch.
    (v > best) | ((v != v) & (best == best))
}

/// The backward pass of one sample's pooling: adds `∂L/∂x` to `dx` (zeroed by the caller).
/// A maximum's gradient goes to the first largest input of its window (row by row), as in
/// PyTorch; a mean's is shared equally.
pub(crate) fn pool_backward<T: Scalar>(g: &Geometry, max: bool, x: &[T], dy: &[T], dx: &mut [T]) {
    let (plane, positions) = (g.plane(), g.positions());
    let scale = T::one() / T::of((g.kh * g.kw) as f64);
    let planes = x.chunks_exact(plane).zip(dy.chunks_exact(positions));
    for ((xc, dyc), dxc) in planes.zip(dx.chunks_exact_mut(plane)) {
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let d = dyc[oy * g.ow + ox];
                if max {
                    dxc[argmax(g, xc, oy, ox)] += d;
                } else {
                    let d = d * scale;
                    for ky in 0..g.kh {
                        let row = (oy * g.sh + ky) * g.w + ox * g.sw;
                        for v in &mut dxc[row..row + g.kw] {
                            *v += d;
                        }
                    }
                }
            }
        }
    }
}

/// The index in the plane of the first largest value of a window (a NaN counts as largest).
#[inline(always)]
fn argmax<T: Scalar>(g: &Geometry, plane: &[T], oy: usize, ox: usize) -> usize {
    let first = oy * g.sh * g.w + ox * g.sw;
    let mut best = first;
    for ky in 0..g.kh {
        let row = first + ky * g.w;
        for at in row..row + g.kw {
            if wins(plane[at], plane[best]) {
                best = at;
            }
        }
    }
    best
}

#[inline(always)]
fn window_sum<T: Scalar>(g: &Geometry, plane: &[T], oy: usize, ox: usize) -> T {
    let first = oy * g.sh * g.w + ox * g.sw;
    let mut sum = T::zero();
    for ky in 0..g.kh {
        let row = first + ky * g.w;
        for &v in &plane[row..row + g.kw] {
            sum += v;
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alloc_prelude::*;

    #[test]
    fn valid_ranges_keep_windows_inside_the_input() {
        // 5 wide, kernel 3, stride 2, padding 1: outputs 0, 1, 2 read columns −1..1, 1..3, 3..5.
        let g = Geometry::square(1, 1, 3, 2, 1, 5, 5);
        assert_eq!((g.oh, g.ow), (3, 3));
        assert_eq!(g.cols(0), 1..3); // column −1 is padding for output 0
        assert_eq!(g.cols(1), 0..3);
        assert_eq!(g.cols(2), 0..2); // column 5 is padding for output 2
        // Stride 3 leaves the last column unused (floor, as in PyTorch).
        let g = Geometry::line(1, 1, 2, 3, 0, 7);
        assert_eq!(g.ow, 2);
        assert_eq!(g.cols(1), 0..2);
    }

    /// The 2 x 2 minibatch kernel (four outputs at a time, then one at a time) takes the
    /// values and inputs the general loops take, ties and NaNs included, for rows of 3 to 12
    /// outputs.
    #[test]
    fn the_two_by_two_max_pool_takes_what_the_general_loops_take() {
        for (h, w) in [(4, 6), (6, 8), (4, 10), (24, 24), (8, 8), (2, 26)] {
            let g = Geometry::square(3, 3, 2, 2, 0, h, w);
            let x: Vec<f32> = (0..g.c * g.plane())
                .map(|i| match (i * 7) % 11 {
                    0 => f32::NAN,
                    k => (k % 4) as f32, // many ties
                })
                .collect();
            let n = g.c * g.positions();
            let (mut y, mut taken) = (vec![0.0; n], vec![0; n]);
            max_pool_taken(&g, &x, &mut y, &mut taken);
            let (mut expected, mut at) = (vec![0.0; n], vec![0; n]);
            max_pool(&g, &x, &mut expected, |o, i| at[o] = i as u32);
            assert_eq!(taken, at, "{h} x {w}");
            for (a, b) in y.iter().zip(&expected) {
                assert!(
                    a == b || (a.is_nan() && b.is_nan()),
                    "{h} x {w}: {a} against {b}"
                );
            }
        }
    }
}
