//! The [`Dataset`]: samples as typed, checked columns, gathered into minibatches.

use core::ops::Range;

use nalgebra::SVector;

use crate::alloc_prelude::*;
use crate::base::disjoint::{DisjointParts, DisjointRows};
use crate::base::linalg::{ensure_cols, split_inputs};
use crate::base::threads::{current_threads, run_parts};
use crate::nn::layer::infer_in_chunks;
use crate::{base::linalg::Batch, base::scalar::Scalar, error::Error, nn::layer::Layer};

/// Values from which [`Dataset::gather`] shares the copy between the threads: one MNIST
/// minibatch of 32 (25,088 values) and up. Besides halving the copy, each thread then holds
/// what it gathered in its own cache, where the first product reads it: for wide samples
/// (256 features or more) the thread's half of the features, the inputs it multiplies (see
/// `affine_in_halves`), else its half of the samples.
const GATHER_SPLIT: usize = 1 << 14;

/// A sample needs at least one feature: with none, nothing can be learned, and a matrix of
/// zero rows cannot say how many samples it holds.
fn check_feature_count<const I: usize>() -> Result<(), Error> {
    if I == 0 {
        return Err(Error::LengthMismatch {
            what: "features per sample, at least",
            expected: 1,
            found: 0,
        });
    }
    Ok(())
}

/// Samples with `I` features each (a compile-time size) and one target of type `Y` each:
/// a class label (`usize`), a value (`T`) or a vector (`SVector<T, O>`).
///
/// Features are stored as one heap matrix with a sample per column, so that a minibatch is
/// gathered with one contiguous copy per sample. Every feature is checked to be finite when
/// the dataset is built; targets are checked against the loss when training starts.
///
/// # Example
/// ```
/// use constnet::data::Dataset;
/// use nalgebra::SVector;
/// let xor = Dataset::<f32, 2, usize>::from_rows(
///     &[0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0],
///     vec![0, 1, 1, 0],
/// )?;
/// assert_eq!(xor.len(), 4);
/// assert_eq!(xor.sample(2), (SVector::from([1.0, 0.0]), &1));
/// assert!(Dataset::<f32, 2, usize>::from_rows(&[0.0, f32::NAN], vec![0]).is_err());
/// # Ok::<(), constnet::Error>(())
/// ```
#[derive(Clone)]
pub struct Dataset<T: Scalar, const I: usize, Y> {
    features: Batch<T, I>,
    targets: Vec<Y>,
}

/// Sizes and the first targets, never the whole feature matrix.
impl<T: Scalar, const I: usize, Y: core::fmt::Debug> core::fmt::Debug for Dataset<T, I, Y> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        const SHOWN: usize = 5;
        let shown = &self.targets[..self.len().min(SHOWN)];
        let more = self.len().saturating_sub(SHOWN);
        f.debug_struct("Dataset")
            .field("samples", &self.len())
            .field("features", &I)
            .field(
                "targets",
                &format_args!(
                    "{shown:?}{}",
                    if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    }
                ),
            )
            .finish()
    }
}

impl<T: Scalar, const I: usize, Y> Dataset<T, I, Y> {
    /// A dataset from a feature matrix (one sample per column) and one target per sample.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] if the counts differ or `I` is 0; [`Error::NonFinite`] for
    /// a NaN or infinite feature, naming the sample and the component.
    pub fn new(features: Batch<T, I>, targets: Vec<Y>) -> Result<Self, Error> {
        check_feature_count::<I>()?;
        if features.ncols() != targets.len() {
            return Err(Error::LengthMismatch {
                what: "targets (one per sample)",
                expected: features.ncols(),
                found: targets.len(),
            });
        }
        if let Some(pos) = features.as_slice().iter().position(|v| !v.finite()) {
            return Err(Error::NonFinite {
                what: "features",
                index: pos / I.max(1),
                component: pos % I.max(1),
            });
        }
        Ok(Dataset { features, targets })
    }

    /// A dataset from features in row-major order (`I` values per sample, one sample after
    /// the other, as in a CSV file) and one target per sample.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] if `rows` does not hold `I` values for each target, or `I`
    /// is 0; [`Error::NonFinite`] as for [`Dataset::new`].
    pub fn from_rows(rows: &[T], targets: Vec<Y>) -> Result<Self, Error> {
        check_feature_count::<I>()?;
        if rows.len() != targets.len() * I {
            return Err(Error::LengthMismatch {
                what: "feature values (inputs × targets)",
                expected: targets.len() * I,
                found: rows.len(),
            });
        }
        Self::new(Batch::from_column_slice(rows), targets)
    }

    /// A dataset from rows of exactly `I` features, each with its target: a row of another
    /// width does not compile, so features and targets cannot misalign.
    ///
    /// # Errors
    /// [`Error::NonFinite`] as for [`Dataset::new`]; [`Error::LengthMismatch`] if `I` is 0.
    ///
    /// # Example
    /// ```
    /// use constnet::data::Dataset;
    /// let iris = Dataset::<f32, 4, usize>::from_row_arrays([
    ///     ([5.1, 3.5, 1.4, 0.2], 0),
    ///     ([7.0, 3.2, 4.7, 1.4], 1),
    ///     ([6.3, 3.3, 6.0, 2.5], 2),
    /// ])?;
    /// assert_eq!(iris.len(), 3);
    /// assert_eq!(iris.sample(1).0[2], 4.7);
    /// # Ok::<(), constnet::Error>(())
    /// ```
    pub fn from_row_arrays(rows: impl IntoIterator<Item = ([T; I], Y)>) -> Result<Self, Error> {
        let mut values = Vec::new();
        let mut targets = Vec::new();
        for (row, target) in rows {
            values.extend_from_slice(&row);
            targets.push(target);
        }
        Self::from_rows(&values, targets)
    }

    /// A dataset from `(features, target)` pairs.
    ///
    /// # Errors
    /// [`Error::NonFinite`] as for [`Dataset::new`].
    pub fn from_samples(
        samples: impl IntoIterator<Item = (SVector<T, I>, Y)>,
    ) -> Result<Self, Error> {
        let mut values = Vec::new();
        let mut targets = Vec::new();
        for (x, y) in samples {
            values.extend_from_slice(x.as_slice());
            targets.push(y);
        }
        Self::from_rows(&values, targets)
    }

    /// The number of samples.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// All features, one sample per column.
    pub fn features(&self) -> &Batch<T, I> {
        &self.features
    }

    /// All targets, in sample order.
    pub fn targets(&self) -> &[Y] {
        &self.targets
    }

    /// The `i`-th sample's features and target.
    ///
    /// # Panics
    /// If `i >= self.len()`.
    pub fn sample(&self, i: usize) -> (SVector<T, I>, &Y) {
        (self.features.column(i).into_owned(), &self.targets[i])
    }

    /// Splits into the first `at` samples and the rest (`at` is capped at the length).
    pub fn split_at(self, at: usize) -> (Self, Self) {
        let at = at.min(self.len());
        let Dataset {
            features,
            mut targets,
        } = self;
        let rest_targets = targets.split_off(at);
        let head = Batch::from_column_slice(&features.as_slice()[..at * I]);
        let tail = Batch::from_column_slice(&features.as_slice()[at * I..]);
        (
            Dataset {
                features: head,
                targets,
            },
            Dataset {
                features: tail,
                targets: rest_targets,
            },
        )
    }

    /// A copy of the samples in `range` (capped at the length).
    pub fn subset(&self, range: Range<usize>) -> Self
    where
        Y: Clone,
    {
        let end = range.end.min(self.len());
        let start = range.start.min(end);
        Dataset {
            features: Batch::from_column_slice(&self.features.as_slice()[start * I..end * I]),
            targets: self.targets[start..end].to_vec(),
        }
    }

    /// A copy of the samples at `indices`, in that order (a split, a fold, a bootstrap).
    ///
    /// # Panics
    /// If an index is out of range.
    pub fn select(&self, indices: &[usize]) -> Self
    where
        Y: Clone,
    {
        let mut features = Batch::zeros(0);
        let mut targets = Vec::with_capacity(indices.len());
        self.gather(indices, &mut features, &mut targets);
        Dataset { features, targets }
    }

    /// Replaces every sample's features by `f` of them (for scalers: the result stays finite
    /// for finite scales).
    pub(crate) fn map_features(&mut self, f: impl Fn(&SVector<T, I>) -> SVector<T, I>) {
        for mut column in self.features.column_iter_mut() {
            let x: SVector<T, I> = column.clone_owned();
            column.copy_from(&f(&x));
        }
    }

    /// Replaces every target by `f` of it.
    pub(crate) fn map_targets(&mut self, f: impl Fn(&Y) -> Y) {
        for y in &mut self.targets {
            *y = f(y);
        }
    }

    /// Copies the samples at `indices` into the minibatch `x` (resized if needed) and their
    /// targets into `y`; inside [`with_threads`](crate::base::threads::with_threads), large copies are shared
    /// between the threads.
    ///
    /// # Panics
    /// If an index is out of range.
    pub fn gather(&self, indices: &[usize], x: &mut Batch<T, I>, y: &mut Vec<Y>)
    where
        Y: Clone,
    {
        ensure_cols(x, indices.len());
        y.clear();
        y.extend(indices.iter().map(|&i| self.targets[i].clone()));
        let source = self.features.as_slice();
        let copy = |indices: &[usize], columns: &mut [T]| {
            for (column, &i) in columns.chunks_exact_mut(I).zip(indices) {
                column.copy_from_slice(&source[i * I..(i + 1) * I]);
            }
        };
        let threads = current_threads();
        if threads <= 1 || indices.len() * I < GATHER_SPLIT {
            copy(indices, x.as_mut_slice());
            return;
        }
        let threads = threads.min(DisjointParts::<T>::MAX_PARTS);
        if split_inputs(I) {
            // Wide samples are cut by features, as the first layer's forward product cuts its
            // inputs (`affine_in_halves`): each thread copies the rows it multiplies.
            let rows = DisjointRows::new(x.as_mut_slice(), I, threads);
            run_parts(threads, &|k| {
                let features = rows.rows(k);
                let mut mine = rows.take(k);
                for (j, &i) in indices.iter().enumerate() {
                    mine.column(j)
                        .copy_from_slice(&source[i * I + features.start..i * I + features.end]);
                }
            });
            return;
        }
        let columns = DisjointParts::new(x.as_mut_slice(), I, threads);
        run_parts(threads, &|k| {
            copy(&indices[columns.items(k)], columns.take(k))
        });
    }

    /// The network's outputs for every sample, one per column, computed a chunk of samples at
    /// a time as [`Layer::predict_batch`] does (for the metrics; a program runs
    /// [`Layer::predict_batch`] or `evaluate`).
    pub(crate) fn outputs<N: Layer<T, I, O>, const O: usize>(&self, net: &N) -> Batch<T, O> {
        let mut out = Batch::<T, O>::zeros(self.len());
        infer_in_chunks(net, self.features.as_slice(), out.as_mut_slice());
        out
    }
}

#[cfg(feature = "std")]
#[cfg(test)]
mod tests {
    use super::*;

    fn three() -> Dataset<f64, 2, usize> {
        Dataset::from_rows(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], vec![0, 1, 2]).unwrap()
    }

    #[test]
    fn rows_become_columns() {
        let d = three();
        assert_eq!(d.sample(1), (SVector::from([3.0, 4.0]), &1));
        assert_eq!(d.features().ncols(), 3);
    }

    #[test]
    fn construction_checks_lengths_and_finiteness() {
        let err = Dataset::<f64, 2, usize>::from_rows(&[1.0; 5], vec![0, 0, 0]).unwrap_err();
        assert!(matches!(
            err,
            Error::LengthMismatch {
                expected: 6,
                found: 5,
                ..
            }
        ));
        let err = Dataset::<f64, 2, usize>::new(Batch::zeros(2), vec![0]).unwrap_err();
        assert!(matches!(
            err,
            Error::LengthMismatch {
                expected: 2,
                found: 1,
                ..
            }
        ));
        let err = Dataset::<f64, 2, usize>::from_rows(&[1.0, 2.0, 3.0, f64::INFINITY], vec![0, 0])
            .unwrap_err();
        assert!(matches!(
            err,
            Error::NonFinite {
                index: 1,
                component: 1,
                ..
            }
        ));
    }

    #[test]
    fn split_subset_and_gather_keep_samples_together() {
        let (head, tail) = three().split_at(1);
        assert_eq!(head.len(), 1);
        assert_eq!(tail.sample(0), (SVector::from([3.0, 4.0]), &1));
        let d = three();
        let sub = d.subset(1..10);
        assert_eq!(sub.targets(), &[1, 2]);
        let mut x = Batch::zeros(0);
        let mut y = Vec::new();
        d.gather(&[2, 0], &mut x, &mut y);
        assert_eq!(x.as_slice(), &[5.0, 6.0, 1.0, 2.0]);
        assert_eq!(y, vec![2, 0]);
    }

    /// The parallel copy (from `GATHER_SPLIT` values on) gives the serial result for any
    /// thread count: cut by samples, and for wide samples (300 features) by features.
    #[test]
    fn gathering_on_several_threads_gives_the_serial_batch() {
        fn check<const I: usize>() {
            // Small enough for Miri (CI runs this test under it: it was 200 of the 210 s that
            // Miri's tests took with 170 samples of both widths), large enough to be split.
            let picked = GATHER_SPLIT.div_ceil(I) + 6;
            let n = picked + 10;
            let rows: Vec<f32> = (0..n * I).map(|i| i as f32).collect();
            let data = Dataset::<f32, I, usize>::from_rows(&rows, (0..n).collect()).unwrap();
            let indices: Vec<usize> = (0..picked).map(|i| (i * 7) % n).collect();
            assert!(
                indices.len() * I >= GATHER_SPLIT,
                "large enough to be split"
            );
            let (mut serial, mut serial_targets) = (Batch::zeros(0), Vec::new());
            data.gather(&indices, &mut serial, &mut serial_targets);
            for threads in [2, 3, 5] {
                let (mut x, mut y) = (Batch::zeros(0), Vec::new());
                crate::base::threads::with_team(threads, || data.gather(&indices, &mut x, &mut y))
                    .unwrap();
                assert_eq!(x, serial, "{I} features, {threads} threads");
                assert_eq!(y, serial_targets);
            }
            assert_eq!(serial.column(3)[0], (21 * I) as f32);
            assert_eq!(serial.column(3)[I - 1], (22 * I - 1) as f32);
        }
        assert!(!split_inputs(100) && split_inputs(300));
        check::<100>();
        check::<300>();
    }

    /// `Debug` of a dataset, an optimizer with state and a trainer stays short.
    #[test]
    fn debug_output_does_not_dump_matrices() {
        use crate::{
            nn::layers::Linear, nn::loss::SoftmaxCrossEntropy, optim::Adam, optim::Optimizer,
            train::trainer::Trainer,
        };
        let data = Dataset::<f32, 784, usize>::from_rows(&[0.5; 784 * 100], vec![3; 100]).unwrap();
        let text = format!("{data:?}");
        assert_eq!(
            text,
            "Dataset { samples: 100, features: 784, targets: [3, 3, 3, 3, 3] and 95 more }"
        );
        let mut net = Linear::<784, 64>::zeros();
        let mut adam = Adam::new(0.01).unwrap();
        adam.step(&mut net, 0.01).unwrap();
        let text = format!("{:?}", Trainer::new(SoftmaxCrossEntropy, adam));
        assert!(text.len() < 400, "{text}");
        assert!(text.contains("moments: 2 tensors, 100480 values"), "{text}");
    }
}
