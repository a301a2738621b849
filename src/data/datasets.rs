//! Seeded toy datasets for learning and testing, in the spirit of scikit-learn's
//! `make_moons`, `make_circles` and `make_classification`.

use nalgebra::SVector;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};

use crate::nn::init::standard_normal;
use crate::{base::scalar::Scalar, data::Dataset};

fn shuffled<T: Scalar>(
    mut samples: Vec<(SVector<T, 2>, usize)>,
    rng: &mut StdRng,
) -> Dataset<T, 2, usize> {
    samples.shuffle(rng);
    Dataset::from_samples(samples).expect("generated points are finite")
}

/// The XOR truth table: inputs (0,0), (0,1), (1,0), (1,1) with classes 0, 1, 1, 0.
///
/// # Example
/// ```
/// let xor = constnet::data::datasets::xor::<f32>();
/// assert_eq!(xor.targets(), &[0, 1, 1, 0]);
/// ```
pub fn xor<T: Scalar>() -> Dataset<T, 2, usize> {
    let rows = [0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0].map(T::of);
    Dataset::from_rows(&rows, vec![0, 1, 1, 0]).expect("four finite samples")
}

/// Two interleaving half circles ("two moons"), `n` points in random order, with Gaussian
/// noise of standard deviation `noise` added to each coordinate. Class 0 is the upper moon
/// (centre (0, 0), radius 1), class 1 the lower one (centre (1, 0.5)).
///
/// # Example
/// ```
/// let moons = constnet::data::datasets::two_moons::<f32>(200, 0.1, 7);
/// assert_eq!(moons.len(), 200);
/// assert_eq!(moons.targets().iter().filter(|&&c| c == 1).count(), 100);
/// ```
pub fn two_moons<T: Scalar>(n: usize, noise: f64, seed: u64) -> Dataset<T, 2, usize> {
    let mut rng = StdRng::seed_from_u64(seed);
    let samples = (0..n)
        .map(|i| {
            let class = usize::from(i >= n.div_ceil(2));
            let angle = rng.random_range(0.0..std::f64::consts::PI);
            let (x, y) = if class == 0 {
                (angle.cos(), angle.sin())
            } else {
                (1.0 - angle.cos(), 0.5 - angle.sin())
            };
            let x = x + noise * standard_normal(&mut rng);
            let y = y + noise * standard_normal(&mut rng);
            (SVector::from([T::of(x), T::of(y)]), class)
        })
        .collect();
    shuffled(samples, &mut rng)
}

/// Two concentric circles, `n` points in random order: class 0 on the outer circle of
/// radius 1, class 1 on the inner one of radius `factor` (in (0, 1)), with Gaussian noise of
/// standard deviation `noise`.
///
/// # Example
/// ```
/// let circles = constnet::data::datasets::circles::<f64>(100, 0.05, 0.5, 1);
/// let (x, class) = circles.sample(0);
/// assert!(*class < 2 && x.norm() < 2.0);
/// ```
pub fn circles<T: Scalar>(n: usize, noise: f64, factor: f64, seed: u64) -> Dataset<T, 2, usize> {
    let mut rng = StdRng::seed_from_u64(seed);
    let samples = (0..n)
        .map(|i| {
            let class = usize::from(i >= n.div_ceil(2));
            let radius = if class == 0 { 1.0 } else { factor };
            let angle = rng.random_range(0.0..std::f64::consts::TAU);
            let x = radius * angle.cos() + noise * standard_normal(&mut rng);
            let y = radius * angle.sin() + noise * standard_normal(&mut rng);
            (SVector::from([T::of(x), T::of(y)]), class)
        })
        .collect();
    shuffled(samples, &mut rng)
}

/// A two-class problem in two informative features, after scikit-learn's
/// `make_classification(n_samples=n, n_features=2, n_redundant=0, n_informative=2,
/// n_clusters_per_class=2, flip_y=flip_y, class_sep=1)`: four unit Gaussian clusters centred
/// on the vertices of the square [−1, 1]², two per class, the vertices dealt to the classes
/// at random by the seed (as scikit-learn does, so some seeds give an XOR-like layout); then
/// a fraction `flip_y` of the samples get a random class (about half of those a wrong one).
///
/// # Example
/// ```
/// let data = constnet::data::datasets::make_classification::<f32>(100, 0.2, 0);
/// assert_eq!(data.len(), 100);
/// ```
pub fn make_classification<T: Scalar>(n: usize, flip_y: f64, seed: u64) -> Dataset<T, 2, usize> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut centres = [[1.0, 1.0], [-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0]];
    centres.shuffle(&mut rng);
    let samples = (0..n)
        .map(|i| {
            let cluster = i % 4;
            let mut class = cluster % 2;
            let [cx, cy] = centres[cluster];
            let x = cx + standard_normal(&mut rng);
            let y = cy + standard_normal(&mut rng);
            if rng.random::<f64>() < flip_y {
                class = rng.random_range(0..2);
            }
            (SVector::from([T::of(x), T::of(y)]), class)
        })
        .collect();
    shuffled(samples, &mut rng)
}
