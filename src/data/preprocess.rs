//! Preprocessing and splits: feature scaling fitted on training data, seeded train/test
//! splits (optionally stratified by class) and k-fold cross-validation indices.

use nalgebra::SVector;
#[cfg(feature = "std")]
use rand::SeedableRng;
#[cfg(feature = "std")]
use rand::seq::SliceRandom;

// f64 math (`sqrt`, `ln`, …) through `libm` without `std`; with `std` the inherent
// methods are used and this import is not.
#[cfg(feature = "std")]
use crate::alloc_prelude::*;
use crate::{base::scalar::Scalar, data::Dataset, error::Error};
#[allow(unused_imports)]
use num_traits::Float as _;

/// Standardisation: `x' = (x − mean) / std` per feature, with the mean and the population
/// standard deviation of the data it was fitted on (scikit-learn's `StandardScaler`). A
/// feature of zero spread keeps the scale 1, so it becomes 0 rather than NaN.
///
/// Fit it on the training set only, then transform every set with it. For regression, a
/// second scaler fitted on the targets ([`StandardScaler::fit_targets`]) brings them to unit
/// scale, and [`StandardScaler::inverse`] turns predictions back. With the `safetensors`
/// feature, [`io::save_safetensors_with`](crate::io::safetensors::save_safetensors_with) stores it beside
/// the weights.
///
/// # Example
/// ```
/// use constnet::data::{Dataset, StandardScaler};
/// let train = Dataset::<f64, 2, usize>::from_row_arrays([([1.0, 10.0], 0), ([3.0, 10.0], 1)])?;
/// let scaler = StandardScaler::fit(&train);
/// assert_eq!(scaler.mean().as_slice(), [2.0, 10.0]);
/// assert_eq!(scaler.scale().as_slice(), [1.0, 1.0]); // population std 1; zero spread → 1
/// let scaled = scaler.transform(&train);
/// assert_eq!(scaled.sample(0).0.as_slice(), [-1.0, 0.0]);
/// # Ok::<(), constnet::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct StandardScaler<T: Scalar, const N: usize> {
    mean: SVector<T, N>,
    scale: SVector<T, N>,
}

/// Min-max scaling to [0, 1] per feature: `x' = (x − min) / (max − min)`, with the range of
/// the data it was fitted on (scikit-learn's `MinMaxScaler`); a constant feature keeps the
/// range 1. Values outside the fitted range map outside [0, 1].
#[derive(Debug, Clone, PartialEq)]
pub struct MinMaxScaler<T: Scalar, const N: usize> {
    min: SVector<T, N>,
    range: SVector<T, N>,
}

/// What both scalers do once fitted: `x' = (x − offset) ⊘ scale` per feature, and back.
#[derive(Debug, Clone, Copy)]
struct Affine<'a, T: Scalar, const N: usize> {
    offset: &'a SVector<T, N>,
    scale: &'a SVector<T, N>,
}

impl<T: Scalar, const N: usize> Affine<'_, T, N> {
    fn apply(self, x: &SVector<T, N>) -> SVector<T, N> {
        (x - self.offset).component_div(self.scale)
    }

    fn inverse(self, z: &SVector<T, N>) -> SVector<T, N> {
        z.component_mul(self.scale) + self.offset
    }

    fn transform<Y: Clone>(self, data: &Dataset<T, N, Y>) -> Dataset<T, N, Y> {
        let mut out = data.clone();
        out.map_features(|x| self.apply(x));
        out
    }
}

/// Mean and population standard deviation (zero spread → 1) of columns of `N` values,
/// accumulated in `f64`.
fn moments<T: Scalar, const N: usize>(
    columns: impl Iterator<Item = SVector<T, N>> + Clone,
) -> (SVector<T, N>, SVector<T, N>) {
    let mut count = 0usize;
    let mut sum = [0.0f64; N];
    for x in columns.clone() {
        count += 1;
        for (s, v) in sum.iter_mut().zip(x.iter()) {
            *s += v.as_f64();
        }
    }
    let n = count.max(1) as f64;
    let mean = sum.map(|s| s / n);
    let mut squares = [0.0f64; N];
    for x in columns {
        for ((q, v), m) in squares.iter_mut().zip(x.iter()).zip(&mean) {
            let d = v.as_f64() - m;
            *q += d * d;
        }
    }
    let std = squares.map(|q| {
        let s = (q / n).sqrt();
        if s > 0.0 && s.is_finite() { s } else { 1.0 }
    });
    // A spread positive as an f64 may be 0 (subnormal) in `T`: it scales by 1 as well.
    let std = std.map(|s| {
        let s = T::of(s);
        if s.finite() && s > T::zero() {
            s
        } else {
            T::one()
        }
    });
    (SVector::from(mean.map(T::of)), SVector::from(std))
}

impl<T: Scalar, const N: usize> StandardScaler<T, N> {
    /// The scaler that changes nothing (mean 0, scale 1), e.g. to load saved values into.
    pub fn identity() -> Self {
        StandardScaler {
            mean: SVector::zeros(),
            scale: SVector::repeat(T::one()),
        }
    }

    /// Fits the mean and standard deviation of the features of `data`.
    pub fn fit<Y>(data: &Dataset<T, N, Y>) -> Self {
        let (mean, scale) = moments((0..data.len()).map(|i| data.sample(i).0));
        StandardScaler { mean, scale }
    }

    /// Fits the mean and standard deviation of the regression targets of `data`.
    pub fn fit_targets<const I: usize>(data: &Dataset<T, I, SVector<T, N>>) -> Self {
        let (mean, scale) = moments(data.targets().iter().copied());
        StandardScaler { mean, scale }
    }

    /// The fitted means.
    pub fn mean(&self) -> &SVector<T, N> {
        &self.mean
    }

    /// The fitted standard deviations (1 where a feature did not vary).
    pub fn scale(&self) -> &SVector<T, N> {
        &self.scale
    }

    fn affine(&self) -> Affine<'_, T, N> {
        Affine {
            offset: &self.mean,
            scale: &self.scale,
        }
    }

    /// One sample, standardised.
    pub fn apply(&self, x: &SVector<T, N>) -> SVector<T, N> {
        self.affine().apply(x)
    }

    /// The inverse: from standardised values back to the original units (for regression
    /// predictions made on standardised targets).
    pub fn inverse(&self, z: &SVector<T, N>) -> SVector<T, N> {
        self.affine().inverse(z)
    }

    /// A copy of `data` with standardised features.
    pub fn transform<Y: Clone>(&self, data: &Dataset<T, N, Y>) -> Dataset<T, N, Y> {
        self.affine().transform(data)
    }

    /// A copy of `data` with standardised regression targets.
    pub fn transform_targets<const I: usize>(
        &self,
        data: &Dataset<T, I, SVector<T, N>>,
    ) -> Dataset<T, I, SVector<T, N>> {
        let mut out = data.clone();
        out.map_targets(|y| self.apply(y));
        out
    }

    /// Its two tensors, `mean` and `scale`, for saving.
    pub fn tensors(&self) -> [(&'static str, &[T]); 2] {
        [
            ("mean", self.mean.as_slice()),
            ("scale", self.scale.as_slice()),
        ]
    }

    /// Sets its tensors from saved values.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] unless both hold `N` values; [`Error::InvalidHyperparameter`]
    /// for a non-finite mean or a scale that is not finite and greater than 0.
    pub fn set_tensors(&mut self, mean: &[T], scale: &[T]) -> Result<(), Error> {
        for (what, v) in [("scaler means", mean), ("scaler scales", scale)] {
            if v.len() != N {
                return Err(Error::LengthMismatch {
                    what,
                    expected: N,
                    found: v.len(),
                });
            }
        }
        if let Some(m) = mean.iter().find(|m| !m.finite()) {
            return Err(Error::InvalidHyperparameter {
                name: "scaler mean",
                value: m.as_f64(),
                expected: "finite",
            });
        }
        if let Some(s) = scale.iter().find(|s| !(s.finite() && **s > T::zero())) {
            return Err(Error::InvalidHyperparameter {
                name: "scaler scale",
                value: s.as_f64(),
                expected: "finite and greater than 0",
            });
        }
        self.mean = SVector::from_column_slice(mean);
        self.scale = SVector::from_column_slice(scale);
        Ok(())
    }
}

impl<T: Scalar, const N: usize> MinMaxScaler<T, N> {
    /// The scaler that changes nothing (minimum 0, range 1), e.g. to load saved values into.
    pub fn identity() -> Self {
        MinMaxScaler {
            min: SVector::zeros(),
            range: SVector::repeat(T::one()),
        }
    }

    /// Fits the minimum and range of the features of `data`.
    ///
    /// # Errors
    /// [`Error::RangeTooWide`] for a feature whose range `max − min` overflows `T` (values
    /// spanning ±3·10³⁸ in `f32`): such a scaler would divide by infinity.
    pub fn fit<Y>(data: &Dataset<T, N, Y>) -> Result<Self, Error> {
        let mut min = [f64::INFINITY; N];
        let mut max = [f64::NEG_INFINITY; N];
        for i in 0..data.len() {
            for (k, v) in data.sample(i).0.iter().enumerate() {
                min[k] = min[k].min(v.as_f64());
                max[k] = max[k].max(v.as_f64());
            }
        }
        let range: [f64; N] = core::array::from_fn(|k| {
            let r = max[k] - min[k];
            if r > 0.0 && r.is_finite() { r } else { 1.0 }
        });
        // Values that are finite in `T` whose difference is not (in `f64` for ±1.7e308).
        let overflows = |k: usize| {
            let spans = min[k].is_finite() && max[k].is_finite();
            spans && !(max[k] - min[k]).is_finite() || !T::of(range[k]).finite()
        };
        if let Some(feature) = (0..N).find(|&k| overflows(k)) {
            return Err(Error::RangeTooWide {
                feature,
                min: min[feature],
                max: max[feature],
                scalar: if size_of::<T>() == 4 { "f32" } else { "f64" },
            });
        }
        let min = min.map(|m| if m.is_finite() { m } else { 0.0 });
        Ok(MinMaxScaler {
            min: SVector::from(min.map(T::of)),
            range: SVector::from(range.map(T::of)),
        })
    }

    /// A scaler of the given minimums and ranges (checked by the caller).
    #[cfg(feature = "serde")]
    pub(crate) fn from_parts(min: SVector<T, N>, range: SVector<T, N>) -> Self {
        MinMaxScaler { min, range }
    }

    /// The fitted minimums.
    pub fn min(&self) -> &SVector<T, N> {
        &self.min
    }

    /// The fitted ranges (1 where a feature did not vary).
    pub fn range(&self) -> &SVector<T, N> {
        &self.range
    }

    fn affine(&self) -> Affine<'_, T, N> {
        Affine {
            offset: &self.min,
            scale: &self.range,
        }
    }

    /// One sample, scaled.
    pub fn apply(&self, x: &SVector<T, N>) -> SVector<T, N> {
        self.affine().apply(x)
    }

    /// The inverse of [`MinMaxScaler::apply`].
    pub fn inverse(&self, z: &SVector<T, N>) -> SVector<T, N> {
        self.affine().inverse(z)
    }

    /// A copy of `data` with scaled features.
    pub fn transform<Y: Clone>(&self, data: &Dataset<T, N, Y>) -> Dataset<T, N, Y> {
        self.affine().transform(data)
    }
}

#[cfg(feature = "std")]
/// Sample indices of a split: which samples train, which test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Indices of the training samples, in increasing order.
    pub train: Vec<usize>,
    /// Indices of the held-out samples, in increasing order.
    pub test: Vec<usize>,
}

#[cfg(feature = "std")]
impl Split {
    /// The two datasets of this split.
    pub fn apply<T: Scalar, const I: usize, Y: Clone>(
        &self,
        data: &Dataset<T, I, Y>,
    ) -> (Dataset<T, I, Y>, Dataset<T, I, Y>) {
        (data.select(&self.train), data.select(&self.test))
    }
}

#[cfg(feature = "std")]
fn check_fraction(test_fraction: f64) -> Result<(), Error> {
    if test_fraction > 0.0 && test_fraction < 1.0 {
        Ok(())
    } else {
        Err(Error::InvalidHyperparameter {
            name: "test fraction",
            value: test_fraction,
            expected: "in (0, 1)",
        })
    }
}

#[cfg(feature = "std")]
/// A seeded random split of `n` samples: `round(n · test_fraction)` of them (at least 1 and
/// at most `n − 1`) are held out.
///
/// # Errors
/// [`Error::InvalidHyperparameter`] for a fraction outside (0, 1); [`Error::EmptyDataset`]
/// for fewer than 2 samples.
///
/// # Example
/// ```
/// use constnet::data::train_test_split;
/// let split = train_test_split(10, 0.2, 7)?;
/// assert_eq!((split.train.len(), split.test.len()), (8, 2));
/// assert_eq!(split, train_test_split(10, 0.2, 7)?); // the same seed, the same split
/// # Ok::<(), constnet::Error>(())
/// ```
pub fn train_test_split(n: usize, test_fraction: f64, seed: u64) -> Result<Split, Error> {
    check_fraction(test_fraction)?;
    if n < 2 {
        return Err(Error::EmptyDataset {
            what: "set to split (it needs at least 2 samples)",
        });
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
    let held = ((n as f64 * test_fraction).round() as usize).clamp(1, n - 1);
    let mut test = order[..held].to_vec();
    let mut train = order[held..].to_vec();
    test.sort_unstable();
    train.sort_unstable();
    Ok(Split { train, test })
}

#[cfg(feature = "std")]
/// A seeded split that keeps each class's share: of every class, `round(count ·
/// test_fraction)` samples are held out (scikit-learn's `stratify=y`).
///
/// # Errors
/// As [`train_test_split`].
///
/// # Example
/// ```
/// use constnet::data::stratified_split;
/// let labels = [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1];
/// let split = stratified_split(&labels, 0.25, 0)?;
/// let held: Vec<usize> = split.test.iter().map(|&i| labels[i]).collect();
/// assert_eq!(held.iter().filter(|&&c| c == 0).count(), 1);
/// assert_eq!(held.iter().filter(|&&c| c == 1).count(), 2);
/// # Ok::<(), constnet::Error>(())
/// ```
pub fn stratified_split(labels: &[usize], test_fraction: f64, seed: u64) -> Result<Split, Error> {
    check_fraction(test_fraction)?;
    if labels.len() < 2 {
        return Err(Error::EmptyDataset {
            what: "set to split (it needs at least 2 samples)",
        });
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut test = Vec::new();
    for members in class_members(labels) {
        let mut members = members;
        members.shuffle(&mut rng);
        let held = (members.len() as f64 * test_fraction).round() as usize;
        test.extend_from_slice(&members[..held.min(members.len())]);
    }
    if test.is_empty() || test.len() == labels.len() {
        // Tiny classes rounded to nothing (or everything): fall back to the plain split.
        return train_test_split(labels.len(), test_fraction, seed);
    }
    test.sort_unstable();
    let mut is_test = vec![false; labels.len()];
    for &i in &test {
        is_test[i] = true;
    }
    let train = (0..labels.len()).filter(|&i| !is_test[i]).collect();
    Ok(Split { train, test })
}

#[cfg(feature = "std")]
/// The indices of each class, in order of the class labels.
fn class_members(labels: &[usize]) -> Vec<Vec<usize>> {
    let classes = labels.iter().max().map_or(0, |m| m + 1);
    let mut members = vec![Vec::new(); classes];
    for (i, &c) in labels.iter().enumerate() {
        members[c].push(i);
    }
    members.retain(|m| !m.is_empty());
    members
}

#[cfg(feature = "std")]
/// The `k` folds of k-fold cross-validation over `n` samples, shuffled with `seed`: each
/// sample is in exactly one fold's test part; fold sizes differ by at most 1.
///
/// # Errors
/// [`Error::InvalidHyperparameter`] unless `2 ≤ k ≤ n`.
///
/// # Example
/// ```
/// use constnet::data::k_fold;
/// let folds = k_fold(10, 3, 0)?;
/// assert_eq!(folds.len(), 3);
/// assert_eq!(folds.iter().map(|f| f.test.len()).sum::<usize>(), 10);
/// assert!(folds.iter().all(|f| f.train.len() + f.test.len() == 10));
/// # Ok::<(), constnet::Error>(())
/// ```
pub fn k_fold(n: usize, k: usize, seed: u64) -> Result<Vec<Split>, Error> {
    if k < 2 || k > n {
        return Err(Error::InvalidHyperparameter {
            name: "number of folds",
            value: k as f64,
            expected: "at least 2 and at most the number of samples",
        });
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
    let mut fold_of = vec![0; n];
    for (position, &i) in order.iter().enumerate() {
        fold_of[i] = position % k;
    }
    Ok((0..k)
        .map(|f| Split {
            train: (0..n).filter(|&i| fold_of[i] != f).collect(),
            test: (0..n).filter(|&i| fold_of[i] == f).collect(),
        })
        .collect())
}

#[cfg(feature = "safetensors")]
impl<T: Scalar, const N: usize> crate::io::Extra<T> for StandardScaler<T, N> {
    fn tensors(&self) -> Vec<(&'static str, &[T])> {
        StandardScaler::tensors(self).to_vec()
    }

    fn set_tensors(&mut self, values: &[Vec<T>]) -> Result<(), Error> {
        match values {
            [mean, scale] => StandardScaler::set_tensors(self, mean, scale),
            _ => Err(Error::LengthMismatch {
                what: "scaler tensors",
                expected: 2,
                found: values.len(),
            }),
        }
    }
}

#[cfg(feature = "safetensors")]
impl<T: Scalar, const N: usize> crate::io::Extra<T> for MinMaxScaler<T, N> {
    fn tensors(&self) -> Vec<(&'static str, &[T])> {
        vec![
            ("min", self.min.as_slice()),
            ("range", self.range.as_slice()),
        ]
    }

    fn set_tensors(&mut self, values: &[Vec<T>]) -> Result<(), Error> {
        let [min, range] = values else {
            return Err(Error::LengthMismatch {
                what: "scaler tensors",
                expected: 2,
                found: values.len(),
            });
        };
        // The same checks as a standard scaler's mean and scale.
        let mut check = StandardScaler::<T, N>::identity();
        check.set_tensors(min, range)?;
        self.min = check.mean;
        self.range = check.scale;
        Ok(())
    }
}

#[cfg(feature = "std")]
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_scaler_matches_population_statistics_and_inverts() {
        let data = Dataset::<f64, 3, usize>::from_row_arrays([
            ([1.0, 5.0, 2.0], 0),
            ([2.0, 5.0, 4.0], 0),
            ([3.0, 5.0, 9.0], 1),
        ])
        .unwrap();
        let s = StandardScaler::fit(&data);
        assert_eq!(s.mean().as_slice(), [2.0, 5.0, 5.0]);
        // Population std: sqrt(2/3) for [1, 2, 3]; a constant column keeps scale 1.
        assert!((s.scale()[0] - (2.0f64 / 3.0).sqrt()).abs() < 1e-15);
        assert_eq!(s.scale()[1], 1.0);
        assert!((s.scale()[2] - (26.0f64 / 3.0).sqrt()).abs() < 1e-14);
        let t = s.transform(&data);
        let col = |k: usize| (0..3).map(|i| t.sample(i).0[k]).collect::<Vec<_>>();
        let mean: f64 = col(0).iter().sum::<f64>() / 3.0;
        let var: f64 = col(2).iter().map(|v| v * v).sum::<f64>() / 3.0;
        assert!(mean.abs() < 1e-15 && (var - 1.0).abs() < 1e-14);
        assert_eq!(col(1), [0.0; 3]);
        assert_eq!(t.targets(), data.targets());
        let x = data.sample(2).0;
        assert!((s.inverse(&s.apply(&x)) - x).norm() < 1e-14);
    }

    #[test]
    fn target_scaler_and_saved_tensors() {
        let data = Dataset::<f32, 1, SVector<f32, 1>>::from_row_arrays([
            ([0.0], SVector::from([10.0])),
            ([1.0], SVector::from([30.0])),
        ])
        .unwrap();
        let s = StandardScaler::fit_targets(&data);
        assert_eq!((s.mean()[0], s.scale()[0]), (20.0, 10.0));
        let t = s.transform_targets(&data);
        assert_eq!(t.targets()[1][0], 1.0);
        assert_eq!(s.inverse(&SVector::from([-1.0]))[0], 10.0);
        let mut loaded = StandardScaler::<f32, 1>::identity();
        let [(_, mean), (_, scale)] = s.tensors();
        loaded.set_tensors(mean, scale).unwrap();
        assert_eq!(loaded, s);
        assert!(loaded.set_tensors(&[0.0], &[0.0]).is_err());
        assert!(loaded.set_tensors(&[f32::NAN], &[1.0]).is_err());
        assert!(loaded.set_tensors(&[0.0, 1.0], &[1.0]).is_err());
    }

    #[test]
    fn min_max_scaler_maps_the_fitted_range_to_unit() {
        let data =
            Dataset::<f32, 2, usize>::from_row_arrays([([-1.0, 3.0], 0), ([3.0, 3.0], 1)]).unwrap();
        let s = MinMaxScaler::fit(&data).unwrap();
        let t = s.transform(&data);
        assert_eq!(t.sample(0).0.as_slice(), [0.0, 0.0]);
        assert_eq!(t.sample(1).0.as_slice(), [1.0, 0.0]);
        assert_eq!(s.apply(&SVector::from([1.0, 3.0]))[0], 0.5);
        assert_eq!(s.inverse(&SVector::from([0.5, 0.0])).as_slice(), [1.0, 3.0]);
    }

    #[test]
    fn splits_partition_the_samples_and_are_seeded() {
        let split = train_test_split(100, 0.3, 1).unwrap();
        assert_eq!(split.test.len(), 30);
        let mut all: Vec<usize> = split.train.iter().chain(&split.test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        assert_ne!(split, train_test_split(100, 0.3, 2).unwrap());
        assert_eq!(train_test_split(3, 0.01, 0).unwrap().test.len(), 1);
        assert_eq!(train_test_split(3, 0.99, 0).unwrap().train.len(), 1);
        for bad in [0.0, 1.0, f64::NAN, -0.5] {
            assert!(train_test_split(10, bad, 0).is_err());
        }
        assert!(train_test_split(1, 0.5, 0).is_err());
    }

    #[test]
    fn stratified_split_keeps_class_shares() {
        // 50 / 30 / 20 samples of three classes, interleaved.
        let labels: Vec<usize> = (0..100)
            .map(|i| match i % 10 {
                0..5 => 0,
                5..8 => 1,
                _ => 2,
            })
            .collect();
        let split = stratified_split(&labels, 0.2, 3).unwrap();
        let count = |idx: &[usize], c| idx.iter().filter(|&&i| labels[i] == c).count();
        assert_eq!(
            [0, 1, 2].map(|c| count(&split.test, c)),
            [10, 6, 4],
            "20% of each class"
        );
        assert_eq!(split.train.len() + split.test.len(), 100);
        assert_eq!(split, stratified_split(&labels, 0.2, 3).unwrap());
    }

    #[test]
    fn k_fold_covers_every_sample_once() {
        let folds = k_fold(11, 4, 5).unwrap();
        let mut seen = vec![0; 11];
        for f in &folds {
            assert!((2..=3).contains(&f.test.len()));
            for &i in &f.test {
                seen[i] += 1;
                assert!(!f.train.contains(&i));
            }
        }
        assert_eq!(seen, vec![1; 11]);
        assert!(k_fold(5, 1, 0).is_err());
        assert!(k_fold(5, 6, 0).is_err());
    }

    #[test]
    fn split_apply_selects_the_samples() {
        let data =
            Dataset::<f32, 1, usize>::from_row_arrays((0..6).map(|i| ([i as f32], i))).unwrap();
        let split = Split {
            train: vec![0, 2, 4],
            test: vec![5, 1],
        };
        let (train, test) = split.apply(&data);
        assert_eq!(train.targets(), [0, 2, 4]);
        assert_eq!(test.targets(), [5, 1]);
        assert_eq!(test.sample(0).0[0], 5.0);
    }

    /// Regression (issue 20, item 8): values spanning ±3·10³⁸ in `f32` gave a min-max range of
    /// infinity (`transform` then made NaN and 0); in `f64`, ±1.7·10³⁰⁸ gave a range of 1
    /// and infinite outputs. Fitting is now an error naming the feature.
    #[test]
    fn a_range_too_wide_for_the_scalar_type_is_an_error_at_fit() {
        let wide =
            Dataset::<f32, 2, usize>::from_rows(&[0.0, -3e38, 1.0, 3e38], vec![0; 2]).unwrap();
        let err = MinMaxScaler::fit(&wide).unwrap_err();
        assert!(
            matches!(
                err,
                Error::RangeTooWide {
                    feature: 1,
                    scalar: "f32",
                    ..
                }
            ),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains("feature 1 spans [-3.000e38, 3.000e38]"),
            "{err}"
        );
        let widest = Dataset::<f64, 1, usize>::from_rows(&[-1.7e308, 1.7e308], vec![0; 2]).unwrap();
        assert!(matches!(
            MinMaxScaler::fit(&widest),
            Err(Error::RangeTooWide { scalar: "f64", .. })
        ));
        // Just inside: a range of 3e38 in f32 fits and scales to [0, 1].
        let ok = Dataset::<f32, 1, usize>::from_rows(&[-1.5e38, 1.5e38], vec![0; 2]).unwrap();
        let scaler = MinMaxScaler::fit(&ok).unwrap();
        let scaled = scaler.transform(&ok);
        assert_eq!((scaled.sample(0).0[0], scaled.sample(1).0[0]), (0.0, 1.0));
        // An empty dataset is no error: every range is 1.
        let empty = Dataset::<f32, 1, usize>::from_rows(&[], vec![]).unwrap();
        assert_eq!(MinMaxScaler::fit(&empty).unwrap().range()[0], 1.0);
    }

    /// Regression (issue 20, item 8): a spread that is subnormal in `f32` (positive as an
    /// `f64`) gave a scale of 0: `transform` made inf/NaN, and the saved scaler did not load.
    /// A scale that is not positive and finite in `T` is 1, as for a constant feature.
    #[test]
    fn a_spread_too_small_for_the_scalar_type_scales_by_one() {
        let tiny = 1e-45_f32; // subnormal
        let data =
            Dataset::<f32, 1, usize>::from_rows(&[0.0, tiny, 0.0, tiny], vec![0; 4]).unwrap();
        let scaler = StandardScaler::fit(&data);
        assert_eq!(scaler.scale()[0], 1.0);
        assert!(scaler.transform(&data).sample(1).0[0].is_finite());
        let (mean, scale) = (
            scaler.mean().as_slice().to_vec(),
            scaler.scale().as_slice().to_vec(),
        );
        let mut loaded = StandardScaler::<f32, 1>::identity();
        loaded.set_tensors(&mean, &scale).unwrap();
        assert_eq!(loaded, scaler);
    }
}
