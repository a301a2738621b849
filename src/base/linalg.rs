//! Heap allocation of large static matrices, the per-sample kernels and the three minibatch
//! matrix products.
//!
//! Minibatch products of large layers go through `matrixmultiply` on the contiguous
//! column-major storage, with a transpose expressed as swapped strides; small layers use the
//! per-sample loops, which the compiler unrolls (see [`gemm_forward`] and [`gemm_backward`]
//! for where the line is). nalgebra's all-static product loop is never used: it is several
//! times slower at minibatch sizes (see `DESIGN-NOTES.md`).

use nalgebra::{Const, Dyn, OMatrix, SMatrix, SVector};

use crate::alloc_prelude::*;
use crate::base::disjoint::{DisjointParts, SharedMut, part};
use crate::base::scalar::Scalar;
use crate::base::threads::{current_threads, run_parts};

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

/// Multiply-adds from which a product is worth splitting between threads.
const SPLIT_WORK: usize = 1 << 16;

/// How many threads a product of `work` multiply-adds over `columns` splittable columns
/// should use (1 outside [`with_threads`](crate::base::threads::with_threads)).
#[inline]
pub(crate) fn split_into(work: usize, columns: usize) -> usize {
    let threads = current_threads();
    if threads <= 1 || work < SPLIT_WORK {
        1
    } else {
        threads.min(columns).max(1)
    }
}

/// `Y ← W·X + β·Y` on `cols` columns stored contiguously in `x` and `y`.
#[inline]
fn gemm_w_x<T: Scalar, const I: usize, const O: usize>(
    w: &SMatrix<T, O, I>,
    x: &[T],
    beta: T,
    y: &mut [T],
    cols: usize,
) {
    assert!(x.len() >= I * cols && y.len() >= O * cols, "{cols} columns");
    // SAFETY: W is O×I column-major; X holds I×cols and Y O×cols values, contiguous (checked
    // above); Y is a distinct buffer (a `&mut` borrow).
    unsafe {
        T::gemm(
            O,
            I,
            cols,
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

/// `Y ← W·X + β·Y` with `W` of size `O×I` and `X`, `Y` holding one sample per column.
///
/// Inside [`with_threads`](crate::base::threads::with_threads) the work is shared between the threads: by
/// rows of `W` when the minibatch is narrower than `W` is tall (each thread then packs only
/// its part of the larger operand), by columns of `X` otherwise. Either way each output
/// value is one thread's, computed exactly as on one thread.
#[inline]
pub(crate) fn mul_w_x<T: Scalar, const I: usize, const O: usize>(
    w: &SMatrix<T, O, I>,
    x: &Batch<T, I>,
    beta: T,
    y: &mut Batch<T, O>,
) {
    let n = x.ncols();
    same_batch(n, y.ncols());
    let by_rows = n < 2 * O;
    let parts = split_into(O * I * n, if by_rows { O } else { n });
    if parts <= 1 {
        gemm_w_x(w, x.as_slice(), beta, y.as_mut_slice(), n);
        return;
    }
    let xs = x.as_slice();
    if by_rows {
        assert!(xs.len() >= I * n && y.len() >= O * n);
        let ys = SharedMut(y.as_mut_slice().as_mut_ptr());
        run_parts(parts, &|k| {
            let rows = part(O, parts, k);
            // SAFETY: rows `rows` (within 0..O) of W (O×I, column-major) and of Y (O×n) are
            // read and written with their full column strides, so every address is inside
            // W, X (I×n) or Y (O×n, checked above); the parts' rows are disjoint, so no two
            // parts write the same value of Y, and Y (a `&mut` borrow) overlaps neither W
            // nor X.
            unsafe {
                T::gemm(
                    rows.len(),
                    I,
                    n,
                    T::one(),
                    w.as_ptr().add(rows.start),
                    1,
                    O as isize,
                    xs.as_ptr(),
                    1,
                    I as isize,
                    beta,
                    ys.ptr().add(rows.start),
                    1,
                    O as isize,
                );
            }
        });
    } else {
        let ys = DisjointParts::new(y.as_mut_slice(), O, parts);
        run_parts(parts, &|k| {
            let cols = ys.items(k);
            let y = ys.take(k);
            gemm_w_x(w, &xs[cols.start * I..cols.end * I], beta, y, cols.len());
        });
    }
}

/// Whether a layer with `inputs` inputs computes its minibatch forward product in two halves
/// of the inputs (see [`affine_in_halves`]): on any thread count, so that results do not
/// depend on it.
#[inline(always)]
pub(crate) const fn split_inputs(inputs: usize) -> bool {
    inputs >= 256
}

/// `Y ← (b + W₀·X₀) + W₁·X₁`: the minibatch forward product of a wide layer, its inputs cut
/// into the two halves [`part`]`(I, 2, 0)` and `part(I, 2, 1)` (the halves into which the
/// weight-gradient product and the optimizer update cut the columns of `W` on two threads).
/// `second` holds `W₁·X₁` until it is added.
///
/// On two threads each half is one thread's: it reads only its half of the minibatch (which
/// [`Dataset::gather`](crate::data::Dataset::gather) copied there) and of `W` (which it updated
/// itself), so little crosses between the cores; on more threads each half is further shared
/// by columns. The sum is the same on any thread count: each half's product is computed
/// whole, then the halves are added in this order.
#[inline]
pub(crate) fn affine_in_halves<T: Scalar, const I: usize, const O: usize>(
    w: &SMatrix<T, O, I>,
    bias: &[T; O],
    x: &Batch<T, I>,
    y: &mut Batch<T, O>,
    second: &mut Batch<T, O>,
) {
    let n = x.ncols();
    same_batch(n, y.ncols());
    ensure_cols(second, n);
    for yj in y.as_mut_slice().chunks_exact_mut(O) {
        yj.copy_from_slice(bias);
    }
    let xs = x.as_slice();
    assert!(xs.len() >= I * n && y.len() >= O * n && second.len() >= O * n);
    let outputs = [
        SharedMut(y.as_mut_slice().as_mut_ptr()),
        SharedMut(second.as_mut_slice().as_mut_ptr()),
    ];
    // Each half's columns are shared by `blocks` parts on more than two threads.
    let blocks = (current_threads() / 2).clamp(1, n.max(1));
    run_parts(2 * blocks, &|k| {
        let (half, cols) = (k % 2, part(n, blocks, k / 2));
        let inputs = part(I, 2, half);
        let beta = if half == 0 { T::one() } else { T::zero() };
        // SAFETY: columns `cols` (within 0..n) of X (I×n), read from row `inputs.start` on
        // for `inputs.len()` rows, and of W's columns `inputs` (within 0..I) are inside X and
        // W; output `half` (Y or `second`, O×n each, checked above) is written in columns
        // `cols` only. The parts' (half, cols) pairs are disjoint, so no two parts write the
        // same value; Y and `second` are distinct `&mut` borrows, overlapping neither W nor X.
        unsafe {
            T::gemm(
                O,
                inputs.len(),
                cols.len(),
                T::one(),
                w.as_ptr().add(inputs.start * O),
                1,
                O as isize,
                xs.as_ptr().add(cols.start * I + inputs.start),
                1,
                I as isize,
                beta,
                outputs[half].ptr().add(cols.start * O),
                1,
                O as isize,
            );
        }
    });
    for (y, &s) in y.as_mut_slice().iter_mut().zip(second.as_slice()) {
        *y += s;
    }
}

/// `dW ← dW + dY·Xᵀ`: accumulates the weight gradient over a minibatch. Inside
/// [`with_threads`](crate::base::threads::with_threads), the columns of `dW` are shared between the threads
/// (each sum over the minibatch stays whole, in order).
#[inline]
pub(crate) fn add_dy_xt<T: Scalar, const I: usize, const O: usize>(
    dy: &Batch<T, O>,
    x: &Batch<T, I>,
    dw: &mut SMatrix<T, O, I>,
) {
    let n = x.ncols();
    same_batch(n, dy.ncols());
    let parts = split_into(O * I * n, I);
    let dws = DisjointParts::new(dw.as_mut_slice(), O, parts);
    run_parts(parts, &|k| {
        let cols = dws.items(k);
        let dw = dws.take(k);
        if cols.is_empty() || n == 0 {
            return;
        }
        let x = &x.as_slice()[cols.start..];
        assert!(x.len() >= (n - 1) * I + cols.len() && dy.len() >= O * n);
        assert_eq!(dw.len(), O * cols.len());
        // SAFETY: dY is O×n (checked); Xᵀ restricted to columns `cols` is read from X (I×n)
        // with swapped strides, the last element at (n − 1)·I + cols.len() − 1, inside `x`
        // (checked); `dw` holds exactly the O×cols.len() values written, and as a `&mut`
        // overlaps neither input.
        unsafe {
            T::gemm(
                O,
                n,
                cols.len(),
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
    });
}

/// `dX ← Wᵀ·dY`: the input gradient of a linear map over a minibatch. Inside
/// [`with_threads`](crate::base::threads::with_threads), the columns are shared between the threads.
#[inline]
pub(crate) fn mul_wt_dy<T: Scalar, const I: usize, const O: usize>(
    w: &SMatrix<T, O, I>,
    dy: &Batch<T, O>,
    dx: &mut Batch<T, I>,
) {
    let n = dy.ncols();
    same_batch(n, dx.ncols());
    let parts = split_into(O * I * n, n);
    let dys = dy.as_slice();
    let dxs = DisjointParts::new(dx.as_mut_slice(), I, parts);
    run_parts(parts, &|k| {
        let cols = dxs.items(k);
        let dx = dxs.take(k);
        let dy = &dys[cols.start * O..cols.end * O];
        assert_eq!(dx.len(), I * cols.len());
        // SAFETY: Wᵀ is W (O×I) read with swapped strides; `dy` holds the O×cols.len()
        // values read and `dx` the I×cols.len() values written (both checked, by slicing
        // and above); `dx`, a `&mut`, overlaps neither input.
        unsafe {
            T::gemm(
                I,
                O,
                cols.len(),
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
    });
}

/// The values of a vector as an array, so that loops over it have a length the compiler knows.
#[inline(always)]
pub(crate) fn array<T: Scalar, const N: usize>(v: &SVector<T, N>) -> &[T; N] {
    &v.data.0[0]
}

/// The values of a vector as a mutable array.
#[inline(always)]
pub(crate) fn array_mut<T: Scalar, const N: usize>(v: &mut SVector<T, N>) -> &mut [T; N] {
    &mut v.data.0[0]
}

/// A column of a minibatch as an array.
#[inline(always)]
pub(crate) fn column<T, const N: usize>(slice: &[T]) -> &[T; N] {
    slice.try_into().expect("a column of N values")
}

/// A column of a minibatch as a mutable array.
#[inline(always)]
pub(crate) fn column_mut<T, const N: usize>(slice: &mut [T]) -> &mut [T; N] {
    slice.try_into().expect("a column of N values")
}

/// `y ← b + W·x` for one sample, as a sum of the columns of `W` scaled by `x`: contiguous,
/// with sizes the compiler knows, so it unrolls and vectorises. Columns are taken two at a
/// time, and for short outputs (few vector registers) into several independent partial sums
/// (see [`affine_ways`]), so that the chain of dependent additions is short: a one-sample
/// forward pass of a small network waits on it.
#[inline(always)]
pub(crate) fn affine<T: Scalar, const I: usize, const O: usize>(
    w: &SMatrix<T, O, I>,
    b: &[T; O],
    x: &[T; I],
    y: &mut [T; O],
) {
    let ways = affine_ways(O);
    let w = &w.data.0;
    let mut acc = [[T::zero(); O]; 4];
    acc[0] = *b;
    let mut c = 0;
    while c + 2 * ways <= I {
        for (k, acc) in acc.iter_mut().enumerate().take(ways) {
            let c = c + 2 * k;
            let (x0, x1) = (x[c], x[c + 1]);
            let (w0, w1) = (&w[c], &w[c + 1]);
            for r in 0..O {
                acc[r] += w0[r] * x0 + w1[r] * x1;
            }
        }
        c += 2 * ways;
    }
    let [a0, a1, a2, a3] = &mut acc;
    while c + 1 < I {
        let (x0, x1) = (x[c], x[c + 1]);
        let (w0, w1) = (&w[c], &w[c + 1]);
        for r in 0..O {
            a0[r] += w0[r] * x0 + w1[r] * x1;
        }
        c += 2;
    }
    if c < I {
        let (xc, wc) = (x[c], &w[c]);
        for r in 0..O {
            a0[r] += wc[r] * xc;
        }
    }
    for r in 0..O {
        y[r] = match ways {
            1 => a0[r],
            2 => a0[r] + a1[r],
            _ => (a0[r] + a1[r]) + (a2[r] + a3[r]),
        };
    }
}

/// How many independent partial sums [`affine`] keeps for `outputs` outputs: as many as fit
/// in the vector registers besides the weights (4 for up to 8 outputs, 2 for up to 32).
#[inline(always)]
const fn affine_ways(outputs: usize) -> usize {
    if outputs <= 8 {
        4
    } else if outputs <= 32 {
        2
    } else {
        1
    }
}

/// `G ← G + dy·xᵀ` for one sample (a rank-one update of the weight gradient).
#[inline(always)]
pub(crate) fn add_outer<T: Scalar, const I: usize, const O: usize>(
    dy: &[T; O],
    x: &[T; I],
    g: &mut SMatrix<T, O, I>,
) {
    for (column, &xc) in g.data.0.iter_mut().zip(x) {
        for r in 0..O {
            column[r] += dy[r] * xc;
        }
    }
}

/// `G ← G + dY·Xᵀ` over a minibatch of small layers: one column of `G` at a time, kept in
/// registers while the samples stream past (adding the samples in order, as one-sample
/// backward passes would).
#[inline(always)]
pub(crate) fn add_dy_xt_small<T: Scalar, const I: usize, const O: usize>(
    dy: &[T],
    x: &[T],
    g: &mut SMatrix<T, O, I>,
) {
    for (c, gc) in g.data.0.iter_mut().enumerate() {
        let mut acc = *gc;
        for (dyj, xj) in dy.chunks_exact(O).zip(x.chunks_exact(I)) {
            let (dyj, xc) = (column::<T, O>(dyj), xj[c]);
            for r in 0..O {
                acc[r] += dyj[r] * xc;
            }
        }
        *gc = acc;
    }
}

/// `dx ← Wᵀ·dy` for one sample: one dot product per column of `W`.
#[inline(always)]
pub(crate) fn mul_wt<T: Scalar, const I: usize, const O: usize>(
    w: &SMatrix<T, O, I>,
    dy: &[T; O],
    dx: &mut [T; I],
) {
    for (d, column) in dx.iter_mut().zip(&w.data.0) {
        *d = dot(column, dy);
    }
}

/// A dot product with eight partial sums, so that it vectorises (in a fixed order, so that
/// results do not depend on the machine).
#[inline(always)]
pub(crate) fn dot<T: Scalar>(a: &[T], b: &[T]) -> T {
    const LANES: usize = 8;
    let mut acc = [T::zero(); LANES];
    let (a_body, a_tail) = a.split_at(a.len() - a.len() % LANES);
    let (b_body, b_tail) = b.split_at(a_body.len().min(b.len()));
    for (ca, cb) in a_body.chunks_exact(LANES).zip(b_body.chunks_exact(LANES)) {
        for k in 0..LANES {
            acc[k] += ca[k] * cb[k];
        }
    }
    let mut tail = T::zero();
    for (&x, &y) in a_tail.iter().zip(b_tail) {
        tail += x * y;
    }
    ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])) + tail
}

/// Whether the minibatch forward product of an `O×I` weight goes through `matrixmultiply`
/// rather than the per-sample loops above. Below this size, packing the operands costs more
/// than the faster kernel saves. Measured on this project's machine: at batch 32, 64×32 is
/// 1.8 times faster through `matrixmultiply` and 32×10 1.4 times slower; at batch 1,000,
/// 128×10 (91 against 99 µs), 64×8 and 32×10 are still faster through the loops.
#[inline(always)]
pub(crate) const fn gemm_forward(inputs: usize, outputs: usize) -> bool {
    inputs * outputs >= 2048
}

/// The same choice for the backward products (`dW` and `dX`), which gain from
/// `matrixmultiply` sooner: 16×16 and 128×10 were faster through it, 6×64 and 16×2 slower.
#[inline(always)]
pub(crate) const fn gemm_backward(inputs: usize, outputs: usize) -> bool {
    let min = if inputs < outputs { inputs } else { outputs };
    inputs * outputs >= 256 && min >= 8
}

/// A matrix inside a slice: the values and the row and column strides (in values).
pub(crate) type Strided<'a, T> = (&'a [T], usize, usize);

/// Whether every value of an `m×n` matrix with strides `(rs, cs)` lies in `len` values.
#[inline]
fn fits(len: usize, m: usize, n: usize, rs: usize, cs: usize) -> bool {
    m == 0 || n == 0 || (m - 1) * rs + (n - 1) * cs < len
}

/// `C ← A·B + β·C` for `A` of `m×k`, `B` of `k×n` and `C` of `m×n`, each a slice with its own
/// row and column strides: the safe face of `matrixmultiply` for layouts other than a
/// minibatch's (a convolution's unfolded patches, its weights as a row-major matrix).
///
/// # Panics
/// If a matrix does not fit in its slice.
#[inline]
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_strided<T: Scalar>(
    m: usize,
    k: usize,
    n: usize,
    a: Strided<'_, T>,
    b: Strided<'_, T>,
    beta: T,
    c: &mut [T],
    (rsc, csc): (usize, usize),
) {
    let ((a, rsa, csa), (b, rsb, csb)) = (a, b);
    assert!(
        fits(a.len(), m, k, rsa, csa)
            && fits(b.len(), k, n, rsb, csb)
            && fits(c.len(), m, n, rsc, csc),
        "a {m}x{k} by {k}x{n} product does not fit its buffers"
    );
    if m == 0 || n == 0 {
        return;
    }
    // SAFETY: every value addressed by the dimensions and strides lies inside its slice
    // (checked above; for k = 0 nothing of A or B is read); `c`, a `&mut`, overlaps neither
    // `a` nor `b`.
    unsafe {
        T::gemm(
            m,
            k,
            n,
            T::one(),
            a.as_ptr(),
            rsa as isize,
            csa as isize,
            b.as_ptr(),
            rsb as isize,
            csb as isize,
            beta,
            c.as_mut_ptr(),
            rsc as isize,
            csc as isize,
        );
    }
}

#[cfg(feature = "std")]
#[cfg(test)]
mod tests {
    use super::*;

    /// With whole numbers every order of summation gives the exact sum: the two halves of the
    /// inputs cover every input once, each column of the output gets its own samples.
    #[test]
    fn products_in_two_halves_of_the_inputs_are_exact() {
        let w = SMatrix::<f64, 5, 263>::from_fn(|r, c| ((r * 7 + c * 3) % 11) as f64 - 5.0);
        let b = SVector::<f64, 5>::from_fn(|r, _| r as f64 - 2.0);
        for n in [1, 2, 7, 40] {
            let x = Batch::<f64, 263>::from_fn(n, |r, c| ((r + 5 * c) % 13) as f64 - 6.0);
            let expected =
                Batch::<f64, 5>::from_fn(n, |r, c| b[r] + w.row(r).dot(&x.column(c).transpose()));
            for threads in [1, 2, 3, 4, 5] {
                let (mut y, mut second) = (Batch::zeros(n), Batch::zeros(0));
                // Twice with the same buffers, as a workspace reuses them.
                crate::base::threads::with_team(threads, || {
                    affine_in_halves(&w, array(&b), &x, &mut y, &mut second);
                    affine_in_halves(&w, array(&b), &x, &mut y, &mut second);
                })
                .unwrap();
                assert_eq!(y, expected, "batch {n}, {threads} threads");
            }
        }
    }

    /// The halves are summed in one fixed order, whatever the number of threads.
    #[test]
    fn products_in_two_halves_give_the_same_bits_on_any_thread_count() {
        let w =
            SMatrix::<f32, 9, 300>::from_fn(|r, c| ((r * 31 + c * 17) % 97) as f32 * 0.013 - 0.6);
        let b = SVector::<f32, 9>::from_fn(|r, _| r as f32 * 0.1);
        let x = Batch::<f32, 300>::from_fn(37, |r, c| ((r * 13 + c * 29) % 101) as f32 * 0.0101);
        let run = |threads: usize| {
            let (mut y, mut second) = (Batch::zeros(37), Batch::zeros(0));
            crate::base::threads::with_team(threads, || {
                affine_in_halves(&w, array(&b), &x, &mut y, &mut second);
            })
            .unwrap();
            y
        };
        let one = run(1);
        for threads in [2, 3, 4] {
            assert_eq!(run(threads), one, "{threads} threads");
        }
        let reference = w * &x + Batch::<f32, 9>::from_fn(37, |r, _| b[r]);
        assert!((one - reference).abs().max() < 1e-4);
    }

    #[test]
    fn small_kernels_match_nalgebra() {
        let w = SMatrix::<f64, 3, 11>::from_fn(|r, c| (r as f64 + 1.0) * 0.5 - c as f64 * 0.25);
        let x = SVector::<f64, 11>::from_fn(|i, _| i as f64 - 4.0);
        let b = SVector::<f64, 3>::new(1.0, -2.0, 0.5);
        let mut y = SVector::<f64, 3>::zeros();
        affine(&w, array(&b), array(&x), array_mut(&mut y));
        assert_eq!(y, w * x + b);
        let dy = SVector::<f64, 3>::new(0.5, -1.0, 2.0);
        let mut dx = SVector::<f64, 11>::zeros();
        mul_wt(&w, array(&dy), array_mut(&mut dx));
        assert_eq!(dx, w.transpose() * dy);
        let mut g = SMatrix::<f64, 3, 11>::zeros();
        add_outer(array(&dy), array(&x), &mut g);
        assert_eq!(g, dy * x.transpose());
        assert_eq!(dot(x.as_slice(), x.as_slice()), x.norm_squared());
    }
}
