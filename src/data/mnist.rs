//! The MNIST handwritten digits: 28×28 grey images, ten classes.

use std::path::{Path, PathBuf};

use super::idx::IdxReader;
use crate::error::IdxProblem;
use crate::io::fs::try_reserve;
use crate::{base::linalg::Batch, data::Dataset, error::Error};

/// Pixels per image (28 × 28), the input size of an MNIST network.
pub const PIXELS: usize = 28 * 28;
/// Classes (the digits 0 to 9), the output size of an MNIST network.
pub const CLASSES: usize = 10;

/// The standard file names, without the `.gz` that the compressed copies add.
pub const FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// MNIST images as `f32` pixels in [0, 1] with their digit labels.
pub type MnistSet = Dataset<f32, PIXELS, usize>;

/// The 60,000 training and 10,000 test images of MNIST.
#[derive(Debug, Clone)]
pub struct Mnist {
    /// The training set.
    pub train: MnistSet,
    /// The test set.
    pub test: MnistSet,
}

/// Finds `name.gz` or `name` in `dir`.
fn find(dir: &Path, name: &str) -> Result<PathBuf, Error> {
    let candidates = [dir.join(format!("{name}.gz")), dir.join(name)];
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| Error::FileNotFound {
            looked_for: candidates.to_vec(),
            help: Some(WHERE_TO_GET_MNIST),
        })
}

/// What [`Error::FileNotFound`] says when an MNIST file is missing.
pub const WHERE_TO_GET_MNIST: &str = "MNIST is four files, train-images-idx3-ubyte, \
    train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (each may be \
    gzip'd as NAME.gz), by Yann LeCun, Corinna Cortes and Christopher J. C. Burges (CC BY-SA \
    3.0). The constnet repository keeps them in data/mnist/; the crate published on crates.io \
    does not (a package is limited to 10 MB). Copy them from a checkout of the repository, or \
    download them from a mirror such as https://ossci-datasets.s3.amazonaws.com/mnist/";

/// The default limit on the samples of one MNIST file: 300,000, five times the training set.
pub const DEFAULT_MAX_SAMPLES: usize = 300_000;

/// Loads MNIST from the four standard files in `dir`, each gzip-compressed (`*.gz`) or raw,
/// of at most [`DEFAULT_MAX_SAMPLES`] samples each.
///
/// # Errors
/// [`Error::FileNotFound`] listing the paths tried for a missing file and where to get the
/// files ([`WHERE_TO_GET_MNIST`]); the errors of
/// [`read_mnist`] for a malformed one.
///
/// # Example
/// ```no_run
/// let mnist = constnet::data::mnist::load_mnist("data/mnist")?;
/// assert_eq!((mnist.train.len(), mnist.test.len()), (60_000, 10_000));
/// # Ok::<(), constnet::Error>(())
/// ```
pub fn load_mnist(dir: impl AsRef<Path>) -> Result<Mnist, Error> {
    let dir = dir.as_ref();
    load_mnist_limited(dir, DEFAULT_MAX_SAMPLES)
}

/// [`load_mnist`] with a limit of `max_samples` samples per file.
///
/// # Errors
/// As [`load_mnist`].
pub fn load_mnist_limited(dir: impl AsRef<Path>, max_samples: usize) -> Result<Mnist, Error> {
    let dir = dir.as_ref();
    let [train_images, train_labels, test_images, test_labels] = FILES;
    let train = read_mnist_limited(
        &find(dir, train_images)?,
        &find(dir, train_labels)?,
        max_samples,
    )?;
    let test = read_mnist_limited(
        &find(dir, test_images)?,
        &find(dir, test_labels)?,
        max_samples,
    )?;
    Ok(Mnist { train, test })
}

/// Reads one image file and its label file into a dataset, pixels scaled to [0, 1], of at
/// most [`DEFAULT_MAX_SAMPLES`] samples.
///
/// Both headers are read and checked against each other and the limit before any data is
/// decoded, so a small file that claims millions of images costs nothing.
///
/// # Errors
/// [`Error::Io`] if a file cannot be read; [`Error::NotARegularFile`]; [`Error::Idx`] naming
/// the file if it is not a valid IDX file of unsigned bytes, if the images are not 28×28, if
/// the counts of images and labels differ, if there are more than the limit, or if a label
/// is not a digit 0–9; [`Error::OutOfMemory`] if the pixels cannot be allocated.
pub fn read_mnist(images: impl AsRef<Path>, labels: impl AsRef<Path>) -> Result<MnistSet, Error> {
    let images = images.as_ref();
    let labels = labels.as_ref();
    read_mnist_limited(images, labels, DEFAULT_MAX_SAMPLES)
}

/// [`read_mnist`] with a limit of `max_samples` samples.
///
/// # Errors
/// As [`read_mnist`].
pub fn read_mnist_limited(
    images: impl AsRef<Path>,
    labels: impl AsRef<Path>,
    max_samples: usize,
) -> Result<MnistSet, Error> {
    let images = images.as_ref();
    let labels = labels.as_ref();
    read_pair(
        IdxReader::open(images)?,
        IdxReader::open(labels)?,
        max_samples,
    )
}

/// MNIST images and labels from IDX bytes in memory, each raw or gzip-compressed, checked
/// as [`read_mnist`] checks files (errors name the files `images` and `labels`).
///
/// # Errors
/// As [`read_mnist`].
///
/// # Example
/// ```
/// use constnet::data::idx::encode_idx;
/// let images = encode_idx(&[2, 28, 28], &[255; 2 * 784])?;
/// let labels = encode_idx(&[2], &[3, 9])?;
/// let set = constnet::data::mnist::parse_mnist(&images, &labels, 10)?;
/// assert_eq!(set.targets(), &[3, 9]);
/// assert!(constnet::data::mnist::parse_mnist(&images, &labels[..8], 10).is_err());
/// # Ok::<(), constnet::Error>(())
/// ```
pub fn parse_mnist(images: &[u8], labels: &[u8], max_samples: usize) -> Result<MnistSet, Error> {
    read_pair(
        IdxReader::from_bytes(images, Path::new("images"))?,
        IdxReader::from_bytes(labels, Path::new("labels"))?,
        max_samples,
    )
}

/// Checks the two headers against each other and the limit, then decodes both files.
fn read_pair(
    image_file: IdxReader<'_>,
    label_file: IdxReader<'_>,
    max_samples: usize,
) -> Result<MnistSet, Error> {
    let images = image_file.path().to_path_buf();
    let labels = label_file.path().to_path_buf();
    let (images, labels) = (images.as_path(), labels.as_path());
    let image_problem = |problem| Error::Idx { problem }.at(images);
    let count = match *image_file.dims() {
        [count, 28, 28] => count,
        _ => {
            return Err(image_problem(IdxProblem::WrongDimensions {
                expected: vec![0, 28, 28],
                found: image_file.dims().to_vec(),
            }));
        }
    };
    let label_problem = |problem| Error::Idx { problem }.at(labels);
    match *label_file.dims() {
        [n] if n == count => {}
        [n] => {
            return Err(label_problem(IdxProblem::CountMismatch {
                images: count,
                labels: n,
            }));
        }
        _ => {
            return Err(label_problem(IdxProblem::WrongDimensions {
                expected: vec![0],
                found: label_file.dims().to_vec(),
            }));
        }
    }
    if count > max_samples {
        return Err(image_problem(IdxProblem::TooLarge {
            bytes: image_file.data_len(),
            limit: (max_samples * PIXELS) as u64,
        }));
    }
    let label_array = label_file.read_data(max_samples as u64)?;
    if let Some((index, &label)) = label_array.data.iter().enumerate().find(|(_, l)| **l >= 10) {
        return Err(label_problem(IdxProblem::LabelOutOfRange { index, label }));
    }
    let image_array = image_file.read_data((max_samples * PIXELS) as u64)?;
    let mut pixels = Vec::new();
    try_reserve(&mut pixels, image_array.data.len(), "the MNIST pixels")?;
    pixels.extend(image_array.data.iter().map(|&p| f32::from(p) / 255.0));
    let targets = label_array.data.iter().map(|&l| usize::from(l)).collect();
    Dataset::new(Batch::from_vec(pixels), targets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::idx::write_idx;
    use crate::io::fs::test_dir;

    fn write_set(dir: &Path, images: usize, side: usize, labels: &[u8]) {
        let pixels: Vec<u8> = (0..images * side * side).map(|i| (i % 256) as u8).collect();
        write_idx(
            dir.join("train-images-idx3-ubyte.gz"),
            &[images, side, side],
            &pixels,
        )
        .unwrap();
        write_idx(dir.join("train-labels-idx1-ubyte"), &[labels.len()], labels).unwrap();
    }

    fn read(dir: &Path) -> Result<MnistSet, Error> {
        read_mnist(find(dir, FILES[0]).unwrap(), find(dir, FILES[1]).unwrap())
    }

    #[test]
    fn small_files_round_trip_into_a_dataset() {
        let dir = test_dir("mnist-ok");
        write_set(&dir, 3, 28, &[7, 0, 9]);
        let data = read(&dir).unwrap();
        assert_eq!(data.targets(), &[7, 0, 9]);
        let (x, _) = data.sample(1);
        assert_eq!(x[0], (784 % 256) as f32 / 255.0);
        assert!(x.iter().all(|&p| (0.0..=1.0).contains(&p)));
    }

    #[test]
    fn inconsistent_files_are_rejected_with_the_file_named() {
        let dir = test_dir("mnist-count");
        write_set(&dir, 3, 28, &[1, 2]);
        let err = read(&dir).unwrap_err();
        assert!(matches!(
            err.kind(),
            Error::Idx {
                problem: IdxProblem::CountMismatch {
                    images: 3,
                    labels: 2
                },
                ..
            }
        ));
        assert!(err.to_string().contains("train-labels-idx1-ubyte"), "{err}");

        let dir = test_dir("mnist-label");
        write_set(&dir, 2, 28, &[1, 10]);
        assert!(matches!(
            read(&dir).unwrap_err().into_kind(),
            Error::Idx {
                problem: IdxProblem::LabelOutOfRange {
                    index: 1,
                    label: 10
                },
                ..
            }
        ));

        let dir = test_dir("mnist-side");
        write_set(&dir, 2, 27, &[1, 2]);
        let err = read(&dir).unwrap_err();
        assert!(matches!(
            err.kind(),
            Error::Idx {
                problem: IdxProblem::WrongDimensions { .. },
                ..
            }
        ));
        assert!(err.to_string().contains("[2, 27, 27]"), "{err}");
    }

    /// Regression: a 1.5 MB `.gz` claiming 2,000,000 images grew to 7.5 GB before anything
    /// was checked, and with a 1-label file the mismatch was found after 1.5 GB of images.
    /// Both are now found from the headers, before any data is decoded.
    #[test]
    fn headers_are_checked_against_each_other_and_the_limit_first() {
        let dir = test_dir("mnist-claims");
        // Only the header: decoding any data would fail as truncated, not as below.
        let claim = |n: u32| {
            let mut h = vec![0u8, 0, 8, 3];
            for d in [n, 28, 28] {
                h.extend(d.to_be_bytes());
            }
            h
        };
        std::fs::write(dir.join("images"), claim(2_000_000)).unwrap();
        write_idx(dir.join("one-label"), &[1], &[3]).unwrap();
        let err = read_mnist(dir.join("images"), dir.join("one-label")).unwrap_err();
        assert!(
            matches!(
                err.kind(),
                Error::Idx {
                    problem: IdxProblem::CountMismatch {
                        images: 2_000_000,
                        labels: 1
                    },
                    ..
                }
            ),
            "{err}"
        );
        let mut labels = vec![0u8, 0, 8, 1];
        labels.extend(2_000_000u32.to_be_bytes());
        std::fs::write(dir.join("labels"), labels).unwrap();
        let err = read_mnist(dir.join("images"), dir.join("labels")).unwrap_err();
        assert!(
            matches!(
                err.kind(),
                Error::Idx {
                    problem: IdxProblem::TooLarge { .. },
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("images"), "{err}");
        // A caller may allow more, or fewer.
        write_set(&dir, 3, 28, &[1, 2, 3]);
        assert!(
            read_mnist_limited(
                find(&dir, FILES[0]).unwrap(),
                find(&dir, FILES[1]).unwrap(),
                2
            )
            .is_err()
        );
        assert!(
            read_mnist_limited(
                find(&dir, FILES[0]).unwrap(),
                find(&dir, FILES[1]).unwrap(),
                3
            )
            .is_ok()
        );
    }

    #[test]
    fn missing_files_say_where_they_were_looked_for() {
        let dir = test_dir("mnist-missing");
        let err = load_mnist(&dir).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("train-images-idx3-ubyte.gz"), "{text}");
        assert!(text.contains(&dir.display().to_string()), "{text}");
    }
}
