//! Buffers split between threads: each part handed out once, so that threads write disjoint
//! parts of one buffer ([`DisjointParts`]: contiguous parts; [`DisjointRows`]: rows of a
//! column-major matrix), and the raw pointer the matrix products share ([`SharedMut`]).

use core::marker::PhantomData;
use core::sync::atomic::{AtomicUsize, Ordering};

/// A raw pointer that may cross threads, for the matrix products whose parts write through
/// `T::gemm`: the rows of a column-major matrix (`mul_w_x`) and the two outputs of
/// `affine_in_halves`. Everything else that splits a buffer between threads uses
/// [`DisjointParts`] (contiguous parts) or [`DisjointRows`] (rows).
#[derive(Clone, Copy)]
pub(crate) struct SharedMut<T>(pub(crate) *mut T);

impl<T> SharedMut<T> {
    /// The pointer (a method, so that closures capture the whole `Sync` wrapper).
    #[inline(always)]
    pub(crate) fn ptr(self) -> *mut T {
        self.0
    }
}
// SAFETY: the pointer is only written through by the parts of one job, inside `T::gemm`
// calls that each write a set of values disjoint from every other part's (argued at each use:
// `mul_w_x`, `affine_in_halves`), and the buffer outlives the job (`run_parts` returns when
// all parts are done).
unsafe impl<T: Send> Send for SharedMut<T> {}
// SAFETY: as for `Send`.
unsafe impl<T: Send> Sync for SharedMut<T> {}

/// Which parts of a job have been handed out: bit `k` is set once part `k` has been (a word:
/// 32-bit targets without 64-bit atomics have it too). Shared by [`DisjointParts`] and
/// [`DisjointRows`], whose soundness rests on each part being handed out at most once.
struct Handouts {
    parts: usize,
    taken: AtomicUsize,
}

impl Handouts {
    /// The most parts a job can have: the bits of the mask (64 on 64-bit targets, which is
    /// also the most threads [`with_threads`] starts).
    const MAX: usize = usize::BITS as usize;

    /// # Panics
    /// If `parts` is not in `1..=MAX`.
    fn new(parts: usize) -> Self {
        assert!(
            (1..=Self::MAX).contains(&parts),
            "1 to {} parts, not {parts}",
            Self::MAX
        );
        Handouts {
            parts,
            taken: AtomicUsize::new(0),
        }
    }

    /// Marks part `k` as handed out.
    ///
    /// # Panics
    /// If `k` is not below the number of parts, or part `k` was handed out before.
    #[inline]
    fn claim(&self, k: usize) {
        assert!(k < self.parts, "part {k} of {}", self.parts);
        let bit = 1usize << k;
        let before = self.taken.fetch_or(bit, Ordering::Relaxed);
        assert!(before & bit == 0, "part {k} taken twice");
    }
}

/// One mutable buffer cut into the contiguous parts of a job: part `k` is the items
/// [`part`]`(items, parts, k)`, an item being `unit` consecutive values (e.g. one column of
/// a matrix). Each part can be taken once, from whichever thread runs it, so the parts of a
/// job can write to one buffer at once without any `unsafe` at the call site.
///
/// The audited helper for splitting a buffer between threads into contiguous parts, as
/// [`DisjointRows`] is for the rows of a matrix.
pub(crate) struct DisjointParts<'a, T> {
    ptr: *mut T,
    items: usize,
    unit: usize,
    handouts: Handouts,
    _buffer: PhantomData<&'a mut [T]>,
}

// SAFETY: a `DisjointParts` is a `&mut [T]` cut into pieces that are handed out at most
// once each (`take` checks it atomically), so sharing it between threads shares no `T`
// between them: it is as thread-safe as sending those `&mut [T]` pieces, which needs
// `T: Send`.
unsafe impl<T: Send> Sync for DisjointParts<'_, T> {}

impl<'a, T> DisjointParts<'a, T> {
    /// The most parts a buffer can be cut into (64 on 64-bit targets, which is also the most
    /// threads [`with_threads`] starts).
    pub(crate) const MAX_PARTS: usize = Handouts::MAX;

    /// Cuts `buffer`, seen as items of `unit` values (a trailing partial item belongs to
    /// no part), into `parts` parts.
    ///
    /// # Panics
    /// If `unit` is 0 or `parts` is not in `1..=MAX_PARTS`.
    pub(crate) fn new(buffer: &'a mut [T], unit: usize, parts: usize) -> Self {
        assert!(unit > 0, "items of at least one value");
        DisjointParts {
            ptr: buffer.as_mut_ptr(),
            items: buffer.len() / unit,
            unit,
            handouts: Handouts::new(parts),
            _buffer: PhantomData,
        }
    }

    /// The items of part `k`.
    #[inline]
    pub(crate) fn items(&self, k: usize) -> core::ops::Range<usize> {
        part(self.items, self.handouts.parts, k)
    }

    /// The values of part `k`, for the one caller that runs part `k`.
    ///
    /// # Panics
    /// If `k` is not below the number of parts, or part `k` was taken before.
    #[inline]
    #[allow(clippy::mut_from_ref)] // each part is handed out once: checked below
    pub(crate) fn take(&self, k: usize) -> &'a mut [T] {
        self.handouts.claim(k);
        let range = self.items(k);
        // SAFETY: `range` lies within `0..items` (`part` caps it), so the values
        // `range.start * unit .. range.end * unit` lie within the buffer borrowed for 'a;
        // the parts' ranges are disjoint (`part` cuts `0..items` into consecutive pieces)
        // and each part is handed out at most once (`claim` above), so no two
        // `&mut` ever alias.
        unsafe {
            core::slice::from_raw_parts_mut(
                self.ptr.add(range.start * self.unit),
                range.len() * self.unit,
            )
        }
    }
}

/// A column-major matrix cut by rows into the parts of a job: part `k` is the rows
/// [`part`]`(rows, parts, k)` of every column. Each part can be taken once, from whichever
/// thread runs it, and gives its rows one column at a time as an ordinary `&mut [T]` (the
/// rows of one column are contiguous), so the parts of a job can write to one matrix at once
/// without any `unsafe` at the call site.
///
/// The audited helper for splitting a matrix between threads by rows, as [`DisjointParts`]
/// is for contiguous parts.
pub(crate) struct DisjointRows<'a, T> {
    ptr: *mut T,
    rows: usize,
    columns: usize,
    handouts: Handouts,
    _buffer: PhantomData<&'a mut [T]>,
}

// SAFETY: as for `DisjointParts`: the matrix is a `&mut [T]` whose parts (disjoint sets of
// values) are handed out at most once each, so sharing it between threads shares no `T`.
unsafe impl<T: Send> Sync for DisjointRows<'_, T> {}

impl<'a, T> DisjointRows<'a, T> {
    /// Cuts `matrix`, `rows` values per column (a trailing partial column belongs to no
    /// part), into `parts` parts by rows.
    ///
    /// # Panics
    /// If `rows` is 0 or `parts` is not in `1..=MAX_PARTS`.
    pub(crate) fn new(matrix: &'a mut [T], rows: usize, parts: usize) -> Self {
        assert!(rows > 0, "columns of at least one value");
        DisjointRows {
            ptr: matrix.as_mut_ptr(),
            rows,
            columns: matrix.len() / rows,
            handouts: Handouts::new(parts),
            _buffer: PhantomData,
        }
    }

    /// The rows of part `k`.
    #[inline]
    pub(crate) fn rows(&self, k: usize) -> core::ops::Range<usize> {
        part(self.rows, self.handouts.parts, k)
    }

    /// Part `k`, for the one caller that runs it.
    ///
    /// # Panics
    /// If `k` is not below the number of parts, or part `k` was taken before.
    #[inline]
    pub(crate) fn take(&self, k: usize) -> RowsPart<'a, T> {
        self.handouts.claim(k);
        RowsPart {
            ptr: self.ptr,
            stride: self.rows,
            columns: self.columns,
            rows: self.rows(k),
            _buffer: PhantomData,
        }
    }
}

/// One part of a [`DisjointRows`]: some rows of every column.
pub(crate) struct RowsPart<'a, T> {
    ptr: *mut T,
    stride: usize,
    columns: usize,
    rows: core::ops::Range<usize>,
    _buffer: PhantomData<&'a mut [T]>,
}

impl<T> RowsPart<'_, T> {
    /// This part's rows of column `j`.
    ///
    /// # Panics
    /// If `j` is not below the number of columns.
    #[inline]
    pub(crate) fn column(&mut self, j: usize) -> &mut [T] {
        assert!(j < self.columns, "column {j} of {}", self.columns);
        // SAFETY: `rows` lies within `0..stride` (`part` caps it) and `j < columns`, so the
        // values `j * stride + rows` lie within the matrix borrowed for 'a; other parts'
        // rows are disjoint from these (`part` cuts `0..stride` into consecutive pieces),
        // each part is handed out once (`DisjointRows::take`), and `&mut self` keeps at
        // most one column of this part borrowed at a time, so no two `&mut` ever alias.
        unsafe {
            core::slice::from_raw_parts_mut(
                self.ptr.add(j * self.stride + self.rows.start),
                self.rows.len(),
            )
        }
    }
}

/// The `k`-th of `parts` nearly equal ranges of `0..len`.
#[inline]
pub(crate) fn part(len: usize, parts: usize, k: usize) -> core::ops::Range<usize> {
    let per = len.div_ceil(parts);
    (k * per).min(len)..((k + 1) * per).min(len)
}

#[cfg(feature = "std")]
#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::threads::{run_parts, with_team};

    #[test]
    fn parts_cover_the_range_once() {
        for len in [0, 1, 5, 64, 101] {
            for parts in 1..5 {
                let covered: Vec<usize> = (0..parts).flat_map(|k| part(len, parts, k)).collect();
                assert_eq!(covered, (0..len).collect::<Vec<_>>());
            }
        }
    }

    /// Every part of every job runs exactly once, and the helpers do take parts (each part
    /// sleeps, so that the helpers have time to claim some).
    #[test]
    fn disjoint_parts_cover_the_buffer_once() {
        let mut buffer: Vec<u32> = (0..23).collect();
        let parts = DisjointParts::new(&mut buffer, 2, 4); // 11 items of 2, one value left
        let mut seen = Vec::new();
        for k in 0..4 {
            assert_eq!(parts.items(k), part(11, 4, k));
            seen.extend_from_slice(parts.take(k));
        }
        assert_eq!(seen, (0..22).collect::<Vec<_>>());
    }

    #[test]
    #[should_panic(expected = "taken twice")]
    fn a_part_cannot_be_taken_twice() {
        let mut buffer = [0u8; 8];
        let parts = DisjointParts::new(&mut buffer, 1, 2);
        let _a = parts.take(1);
        let _b = parts.take(1);
    }

    #[test]
    fn parts_written_from_several_threads_land_in_place() {
        let mut buffer = vec![0usize; 1000];
        with_team(3, || {
            let parts = DisjointParts::new(&mut buffer, 10, 3);
            run_parts(3, &|k| {
                for v in parts.take(k) {
                    *v = k + 1;
                }
            });
        })
        .unwrap();
        for k in 0..3 {
            let r = part(100, 3, k);
            assert!(buffer[r.start * 10..r.end * 10].iter().all(|&v| v == k + 1));
        }
    }

    #[test]
    fn rows_written_from_several_threads_land_in_place() {
        // 7 rows, 5 columns and one value left over, in 3 parts of rows 0..3, 3..6, 6..7.
        let mut matrix = vec![0usize; 7 * 5 + 1];
        with_team(3, || {
            let rows = DisjointRows::new(&mut matrix, 7, 3);
            run_parts(3, &|k| {
                let mut mine = rows.take(k);
                for j in 0..5 {
                    for v in mine.column(j) {
                        *v += k + 1;
                    }
                }
            });
        })
        .unwrap();
        for j in 0..5 {
            for k in 0..3 {
                let column = &matrix[j * 7..(j + 1) * 7];
                assert!(
                    column[part(7, 3, k)].iter().all(|&v| v == k + 1),
                    "column {j}"
                );
            }
        }
        assert_eq!(matrix[35], 0, "the partial column belongs to no part");
    }

    #[test]
    #[should_panic(expected = "taken twice")]
    fn rows_cannot_be_taken_twice() {
        let mut matrix = [0u8; 8];
        let rows = DisjointRows::new(&mut matrix, 4, 2);
        let _a = rows.take(0);
        let _b = rows.take(0);
    }

    #[test]
    #[should_panic(expected = "column 2 of 2")]
    fn rows_stay_inside_the_matrix() {
        let mut matrix = [0u8; 9];
        let rows = DisjointRows::new(&mut matrix, 4, 2);
        rows.take(1).column(2);
    }
}
