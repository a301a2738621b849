//! Accuracy (the complement of the 0-1 loss) and the confusion matrix.

use std::fmt;

use crate::{Dataset, Layer, Scalar};

/// Index of the largest value (the first one on ties; 0 for an empty slice).
///
/// # Example
/// ```
/// assert_eq!(constnet::argmax(&[0.1, 0.7, 0.2]), 1);
/// ```
pub fn argmax<T: PartialOrd + Copy>(values: &[T]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate().skip(1) {
        if *v > values[best] {
            best = i;
        }
    }
    best
}

/// Counts of (true class, predicted class) pairs over a labelled dataset, for `K` classes.
///
/// Rows are true classes, columns predicted ones; the diagonal holds the correct predictions,
/// so accuracy is the trace over the total and the 0-1 loss is one minus that.
///
/// # Example
/// ```
/// use constnet::ConfusionMatrix;
/// let mut cm = ConfusionMatrix::<3>::new();
/// cm.record(0, 0);
/// cm.record(1, 2);
/// assert_eq!(cm.accuracy(), 0.5);
/// assert_eq!(cm.count(1, 2), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfusionMatrix<const K: usize> {
    counts: [[u64; K]; K],
}

impl<const K: usize> Default for ConfusionMatrix<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const K: usize> ConfusionMatrix<K> {
    /// An empty matrix.
    pub fn new() -> Self {
        ConfusionMatrix {
            counts: [[0; K]; K],
        }
    }

    /// The matrix of a classifier's predictions (the arg-max of its `K` outputs) over a
    /// dataset of class labels. Labels `≥ K` are not counted.
    pub fn of<T: Scalar, N: Layer<T, I, K>, const I: usize>(
        net: &N,
        data: &Dataset<T, I, usize>,
    ) -> Self {
        let mut cm = Self::new();
        let outputs = data.predict(net);
        for (y, &label) in outputs.as_slice().chunks_exact(K).zip(data.targets()) {
            cm.record(label, argmax(y));
        }
        cm
    }

    /// Counts one prediction. Classes `≥ K` are ignored.
    pub fn record(&mut self, actual: usize, predicted: usize) {
        if actual < K && predicted < K {
            self.counts[actual][predicted] += 1;
        }
    }

    /// How often class `actual` was predicted as `predicted`: 0 for a class `≥ K`, which
    /// [`ConfusionMatrix::record`] never counts.
    pub fn count(&self, actual: usize, predicted: usize) -> u64 {
        self.counts
            .get(actual)
            .and_then(|row| row.get(predicted))
            .copied()
            .unwrap_or(0)
    }

    /// All counts, rows = true class, columns = predicted class.
    pub fn counts(&self) -> &[[u64; K]; K] {
        &self.counts
    }

    /// The number of predictions counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    /// The fraction of correct predictions (0 when nothing was counted).
    pub fn accuracy(&self) -> f64 {
        let correct: u64 = (0..K).map(|k| self.counts[k][k]).sum();
        correct as f64 / self.total().max(1) as f64
    }
}

impl<const K: usize> fmt::Display for ConfusionMatrix<K> {
    /// A table with one row per true class and one column per predicted class.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .counts
            .iter()
            .flatten()
            .max()
            .unwrap_or(&0)
            .to_string()
            .len()
            .max(3);
        write!(f, "true\\pred")?;
        for k in 0..K {
            write!(f, " {k:>width$}")?;
        }
        writeln!(f)?;
        for (k, row) in self.counts.iter().enumerate() {
            write!(f, "{k:>9}")?;
            for c in row {
                write!(f, " {c:>width$}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// The fraction of samples whose arg-max output equals their class label.
///
/// # Example
/// ```
/// use constnet::{accuracy, Dataset, Linear};
/// use nalgebra::SVector;
/// // Predicts class 1 exactly when the input is positive.
/// let net = Linear::<1, 2>::from_rows(&[-1.0, 1.0], &[0.0, 0.0])?;
/// let data = Dataset::from_samples([
///     (SVector::from([2.0]), 1),
///     (SVector::from([-1.0]), 0),
///     (SVector::from([3.0]), 0),
/// ])?;
/// assert!((accuracy(&net, &data) - 2.0 / 3.0).abs() < 1e-12);
/// # Ok::<(), constnet::Error>(())
/// ```
pub fn accuracy<T: Scalar, N: Layer<T, I, K>, const I: usize, const K: usize>(
    net: &N,
    data: &Dataset<T, I, usize>,
) -> f64 {
    let outputs = data.predict(net);
    let correct = outputs
        .as_slice()
        .chunks_exact(K)
        .zip(data.targets())
        .filter(|(y, label)| argmax(y) == **label)
        .count();
    correct as f64 / data.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_takes_the_first_maximum() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0]), 1);
        assert_eq!(argmax::<f32>(&[]), 0);
        assert_eq!(argmax(&[-1.0, -2.0]), 0);
    }

    #[test]
    fn confusion_matrix_counts_and_prints() {
        let mut cm = ConfusionMatrix::<2>::new();
        for (a, p) in [(0, 0), (0, 1), (1, 1), (1, 1), (5, 0)] {
            cm.record(a, p);
        }
        assert_eq!(cm.counts(), &[[1, 1], [0, 2]]);
        assert_eq!(cm.total(), 4);
        assert_eq!(cm.accuracy(), 0.75);
        let text = cm.to_string();
        assert!(text.contains("true\\pred"));
        assert_eq!(text.lines().count(), 3);
    }
}
