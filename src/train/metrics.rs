//! Accuracy (the complement of the 0-1 loss), the confusion matrix with precision, recall
//! and F1 per class, and R², MAE and RMSE for regression.

use core::fmt;

use nalgebra::SVector;

// f64 math (`sqrt`, `ln`, …) through `libm` without `std`; with `std` the inherent
// methods are used and this import is not.
use crate::alloc_prelude::*;
use crate::{base::linalg::Batch, base::scalar::Scalar, data::Dataset, nn::layer::Layer};
#[allow(unused_imports)]
use num_traits::Float as _;

/// Macro averages over the classes (each class counts the same, whatever its size) of the
/// per-class precision, recall and F1, as scikit-learn's `average="macro"`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassScores {
    /// Mean over classes of `TP / (TP + FP)`.
    pub precision: f64,
    /// Mean over classes of `TP / (TP + FN)`.
    pub recall: f64,
    /// Mean over classes of the harmonic mean of precision and recall.
    pub f1: f64,
}

/// Regression scores of predictions against targets, averaged over the outputs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegressionScores {
    /// Coefficient of determination `1 − SS_res / SS_tot` (1 is perfect, 0 is as good as
    /// predicting the mean; a constant target gives 1 if predicted exactly, else 0), as
    /// scikit-learn's `r2_score`.
    pub r2: f64,
    /// Mean absolute error.
    pub mae: f64,
    /// Root of the mean squared error.
    pub rmse: f64,
}

/// Precision, recall and F1 of class `k` from a count lookup `(actual, predicted)` over
/// `classes` classes; 0 where a denominator is 0 (scikit-learn's `zero_division=0`).
fn per_class(count: &dyn Fn(usize, usize) -> u64, classes: usize, k: usize) -> [f64; 3] {
    let tp = count(k, k) as f64;
    let predicted: u64 = (0..classes).map(|a| count(a, k)).sum();
    let actual: u64 = (0..classes).map(|p| count(k, p)).sum();
    let ratio = |n: f64, d: u64| if d == 0 { 0.0 } else { n / d as f64 };
    let precision = ratio(tp, predicted);
    let recall = ratio(tp, actual);
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    [precision, recall, f1]
}

/// Macro averages over the classes that occur (as actual or predicted class).
fn macro_scores(count: &dyn Fn(usize, usize) -> u64, classes: usize) -> ClassScores {
    let present: Vec<usize> = (0..classes)
        .filter(|&k| (0..classes).any(|j| count(k, j) + count(j, k) > 0))
        .collect();
    let mut sum = [0.0; 3];
    for &k in &present {
        for (s, v) in sum.iter_mut().zip(per_class(count, classes, k)) {
            *s += v;
        }
    }
    let n = present.len().max(1) as f64;
    ClassScores {
        precision: sum[0] / n,
        recall: sum[1] / n,
        f1: sum[2] / n,
    }
}

/// Class scores of `(predicted, actual)` pairs over classes `0..classes`.
pub(crate) fn class_scores(
    pairs: impl Iterator<Item = (usize, usize)>,
    classes: usize,
) -> ClassScores {
    let mut counts = vec![0u64; classes * classes];
    for (predicted, actual) in pairs {
        if predicted < classes && actual < classes {
            counts[actual * classes + predicted] += 1;
        }
    }
    macro_scores(&|a, p| counts[a * classes + p], classes)
}

/// R², MAE and RMSE of outputs (one sample per column) against targets.
pub(crate) fn regression_scores_iter<T: Scalar, const O: usize>(
    outputs: &Batch<T, O>,
    targets: impl Iterator<Item = SVector<T, O>> + Clone,
) -> RegressionScores {
    let n = outputs.ncols().max(1) as f64;
    let mut mean = [0.0; O];
    for t in targets.clone() {
        for (m, v) in mean.iter_mut().zip(t.iter()) {
            *m += v.as_f64() / n;
        }
    }
    let (mut abs, mut sq) = (0.0, 0.0);
    let mut ss_res = [0.0; O];
    let mut ss_tot = [0.0; O];
    for (y, t) in outputs.as_slice().chunks_exact(O).zip(targets) {
        for k in 0..O {
            let (y, t) = (y[k].as_f64(), t[k].as_f64());
            abs += (y - t).abs();
            sq += (y - t) * (y - t);
            ss_res[k] += (y - t) * (y - t);
            ss_tot[k] += (t - mean[k]) * (t - mean[k]);
        }
    }
    let r2: f64 = (0..O)
        .map(|k| match (ss_res[k], ss_tot[k]) {
            (_, tot) if tot > 0.0 => 1.0 - ss_res[k] / tot,
            (0.0, _) => 1.0,
            _ => 0.0,
        })
        .sum::<f64>()
        / O.max(1) as f64;
    let values = n * O.max(1) as f64;
    RegressionScores {
        r2,
        mae: abs / values,
        rmse: (sq / values).sqrt(),
    }
}

/// R², MAE and RMSE of a regression network on a dataset (in the dataset's units: apply a
/// target scaler's inverse first if the network was trained on scaled targets).
///
/// # Example
/// ```
/// use constnet::{data::Dataset, nn::Linear, train::regression_scores};
/// use nalgebra::SVector;
/// let net = Linear::<1, 1, f64>::from_rows(&[2.0], &[0.0])?; // y = 2x
/// let data = Dataset::from_samples([
///     (SVector::from([1.0]), SVector::from([2.0])),
///     (SVector::from([2.0]), SVector::from([5.0])),
/// ])?;
/// let s = regression_scores(&net, &data);
/// assert_eq!((s.mae, s.rmse), (0.5, (0.5f64).sqrt()));
/// assert_eq!(s.r2, 1.0 - 1.0 / 4.5);
/// # Ok::<(), constnet::Error>(())
/// ```
pub fn regression_scores<T: Scalar, N: Layer<T, I, O>, const I: usize, const O: usize>(
    net: &N,
    data: &Dataset<T, I, SVector<T, O>>,
) -> RegressionScores {
    regression_scores_of(&data.outputs(net), data.targets())
}

pub(crate) fn regression_scores_of<T: Scalar, const O: usize>(
    outputs: &Batch<T, O>,
    targets: &[SVector<T, O>],
) -> RegressionScores {
    regression_scores_iter(outputs, targets.iter().copied())
}

/// Index of the largest value (the first one on ties; 0 for an empty slice).
///
/// # Example
/// ```
/// assert_eq!(constnet::train::argmax(&[0.1, 0.7, 0.2]), 1);
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
/// use constnet::train::ConfusionMatrix;
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
        let outputs = data.outputs(net);
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

    /// Of the samples predicted as class `k`, the fraction that are (0 if none is).
    pub fn precision(&self, k: usize) -> f64 {
        self.scores(k)[0]
    }

    /// Of the samples of class `k`, the fraction predicted so (0 if there are none).
    pub fn recall(&self, k: usize) -> f64 {
        self.scores(k)[1]
    }

    /// The harmonic mean of [`precision`](Self::precision) and [`recall`](Self::recall) of
    /// class `k`.
    pub fn f1(&self, k: usize) -> f64 {
        self.scores(k)[2]
    }

    /// How many samples are of class `k`.
    pub fn support(&self, k: usize) -> u64 {
        self.counts.get(k).map_or(0, |row| row.iter().sum())
    }

    /// Macro averages of precision, recall and F1 over the classes that occur.
    pub fn macro_scores(&self) -> ClassScores {
        macro_scores(&|a, p| self.count(a, p), K)
    }

    fn scores(&self, k: usize) -> [f64; 3] {
        if k >= K {
            return [0.0; 3];
        }
        per_class(&|a, p| self.count(a, p), K, k)
    }

    /// A per-class report as scikit-learn's `classification_report` prints it: precision,
    /// recall, F1 and support of each class, named by `names` (class numbers where `names`
    /// is too short), then accuracy and the macro averages.
    ///
    /// # Example
    /// ```
    /// use constnet::train::ConfusionMatrix;
    /// let mut cm = ConfusionMatrix::<2>::new();
    /// for (actual, predicted) in [(0, 0), (0, 0), (0, 1), (1, 1)] {
    ///     cm.record(actual, predicted);
    /// }
    /// assert_eq!((cm.precision(1), cm.recall(1), cm.recall(0)), (0.5, 1.0, 2.0 / 3.0));
    /// let report = cm.report(&["cat", "dog"]).to_string();
    /// assert!(report.contains("dog"));
    /// ```
    pub fn report<'a, S: AsRef<str>>(&'a self, names: &'a [S]) -> impl fmt::Display + 'a {
        Report { cm: self, names }
    }
}

struct Report<'a, S, const K: usize> {
    cm: &'a ConfusionMatrix<K>,
    names: &'a [S],
}

impl<S: AsRef<str>, const K: usize> fmt::Display for Report<'_, S, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = |k: usize| {
            self.names
                .get(k)
                .map_or_else(|| k.to_string(), |s| s.as_ref().to_string())
        };
        let width = (0..K).map(|k| name(k).len()).max().unwrap_or(0).max(12);
        writeln!(
            f,
            "{:>width$} {:>9} {:>9} {:>9} {:>9}",
            "", "precision", "recall", "f1-score", "support"
        )?;
        for k in 0..K {
            writeln!(
                f,
                "{:>width$} {:>9.4} {:>9.4} {:>9.4} {:>9}",
                name(k),
                self.cm.precision(k),
                self.cm.recall(k),
                self.cm.f1(k),
                self.cm.support(k)
            )?;
        }
        let total = self.cm.total();
        writeln!(
            f,
            "{:>width$} {:>9} {:>9} {:>9.4} {:>9}",
            "accuracy",
            "",
            "",
            self.cm.accuracy(),
            total
        )?;
        let m = self.cm.macro_scores();
        write!(
            f,
            "{:>width$} {:>9.4} {:>9.4} {:>9.4} {:>9}",
            "macro avg", m.precision, m.recall, m.f1, total
        )
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
/// use constnet::{data::Dataset, nn::Linear, train::accuracy};
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
    let outputs = data.outputs(net);
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

    /// The numbers of scikit-learn's `classification_report(y_true, y_pred)` for
    /// y_true = [0, 1, 2, 2, 2], y_pred = [0, 0, 2, 2, 1] (its documentation's example):
    /// precision 0.50 0.00 1.00, recall 1.00 0.00 0.67, f1 0.67 0.00 0.80,
    /// macro avg 0.50 0.56 0.49.
    #[test]
    fn precision_recall_f1_match_scikit_learn() {
        let mut cm = ConfusionMatrix::<3>::new();
        for (a, p) in [(0, 0), (1, 0), (2, 2), (2, 2), (2, 1)] {
            cm.record(a, p);
        }
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(close(cm.precision(0), 0.5) && close(cm.precision(1), 0.0));
        assert!(close(cm.precision(2), 1.0));
        assert!(close(cm.recall(0), 1.0) && close(cm.recall(2), 2.0 / 3.0));
        assert!(close(cm.f1(0), 2.0 / 3.0) && close(cm.f1(2), 0.8));
        let m = cm.macro_scores();
        assert!(close(m.precision, 0.5));
        assert!(close(m.recall, (1.0 + 0.0 + 2.0 / 3.0) / 3.0));
        assert!(close(m.f1, (2.0 / 3.0 + 0.0 + 0.8) / 3.0));
        assert_eq!(cm.support(2), 3);
        let from_pairs = class_scores([(0, 0), (0, 1), (2, 2), (2, 2), (1, 2)].into_iter(), 3);
        assert_eq!(from_pairs, m);
        let report = cm.report(&["a", "b"]).to_string();
        assert!(
            report
                .lines()
                .nth(2)
                .unwrap()
                .trim_start()
                .starts_with("b ")
        );
        assert!(
            report
                .lines()
                .nth(3)
                .unwrap()
                .trim_start()
                .starts_with("2 ")
        );
        assert!(report.contains("macro avg"));
    }

    /// scikit-learn: r2_score([3, -0.5, 2, 7], [2.5, 0.0, 2, 8]) = 0.9486081370449679,
    /// mean_absolute_error = 0.5, root_mean_squared_error = sqrt(0.375).
    #[test]
    fn regression_scores_match_scikit_learn() {
        let targets = [3.0, -0.5, 2.0, 7.0].map(|v| SVector::<f64, 1>::from([v]));
        let outputs = Batch::<f64, 1>::from_column_slice(&[2.5, 0.0, 2.0, 8.0]);
        let s = regression_scores_of(&outputs, &targets);
        assert!((s.r2 - 0.9486081370449679).abs() < 1e-15, "{}", s.r2);
        assert_eq!(s.mae, 0.5);
        assert_eq!(s.rmse, 0.375f64.sqrt());
        // A constant target: 1 if predicted exactly, else 0.
        let flat = [SVector::<f64, 1>::from([2.0]); 2];
        let exact = Batch::<f64, 1>::from_column_slice(&[2.0, 2.0]);
        assert_eq!(regression_scores_of(&exact, &flat).r2, 1.0);
        let off = Batch::<f64, 1>::from_column_slice(&[2.0, 3.0]);
        assert_eq!(regression_scores_of(&off, &flat).r2, 0.0);
    }
}
