//! The one error type of the library.

use core::fmt;
#[cfg(feature = "std")]
use std::path::PathBuf;

use crate::alloc_prelude::*;

#[cfg(feature = "csv")]
pub(crate) mod csv;

#[cfg(feature = "csv")]
pub use csv::{CsvPlace, CsvProblem};

/// Everything that can go wrong when outside data or arguments meet a network.
///
/// Inside a network nothing can fail: sizes are checked by the compiler. Errors only come
/// from the boundaries (datasets, files, hyperparameters) and from a training run that
/// diverges. Each variant carries the offending value and where it was found.
#[non_exhaustive]
pub enum Error {
    /// A minibatch size of zero.
    InvalidBatchSize {
        /// The size that was asked for.
        batch_size: usize,
    },
    /// A learning rate that is not a finite number greater than zero.
    InvalidLearningRate {
        /// The rate that was given.
        value: f64,
    },
    /// Another hyperparameter outside its valid range.
    InvalidHyperparameter {
        /// Its name, e.g. `"momentum"`.
        name: &'static str,
        /// The value that was given.
        value: f64,
        /// The range it must lie in, in words.
        expected: &'static str,
    },
    /// A class label that is not smaller than the number of outputs.
    LabelOutOfRange {
        /// Index of the sample in its dataset.
        index: usize,
        /// The label found.
        label: usize,
        /// The number of classes (the network's output size).
        classes: usize,
    },
    /// A target value that the loss cannot take (e.g. a logistic target outside [0, 1]).
    InvalidTarget {
        /// Index of the sample in its dataset.
        index: usize,
        /// The target value found (its first offending component).
        value: f64,
        /// What the loss expects, in words.
        expected: &'static str,
    },
    /// A NaN or infinite value in input data.
    NonFinite {
        /// What held it, e.g. `"features"`.
        what: &'static str,
        /// Index of the sample.
        index: usize,
        /// Index of the component within the sample.
        component: usize,
    },
    /// A feature spans a range that the scalar type cannot hold (`max − min` overflows it),
    /// so a min-max scaler of it would divide by infinity.
    RangeTooWide {
        /// Index of the feature.
        feature: usize,
        /// Its smallest value.
        min: f64,
        /// Its largest value.
        max: f64,
        /// The scalar type, `"f32"` or `"f64"`.
        scalar: &'static str,
    },
    /// Two lengths that must agree do not.
    LengthMismatch {
        /// What was being measured, e.g. `"targets"`.
        what: &'static str,
        /// The length required.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// A dataset with no samples where at least one is needed.
    EmptyDataset {
        /// Which dataset, e.g. `"training set"`.
        what: &'static str,
    },
    #[cfg(feature = "std")]
    /// An error about a file: the file, and what went wrong with it (one of the variants
    /// below: [`Error::Io`], [`Error::Idx`], [`Error::Weights`], [`Error::Csv`], ...). A path
    /// is wrapped once, where the file is named; [`Error::path`] and [`Error::kind`] read the
    /// two parts.
    WithPath {
        /// The file.
        path: PathBuf,
        /// What went wrong with it.
        source: Box<Error>,
    },
    #[cfg(feature = "std")]
    /// A file could not be opened, read or written (inside [`Error::WithPath`]).
    Io {
        /// What the operating system said.
        source: std::io::Error,
    },
    #[cfg(feature = "std")]
    /// None of the places a file was looked for holds it.
    FileNotFound {
        /// Every path that was tried, in order.
        looked_for: Vec<PathBuf>,
        /// What the file is and where to get it, if the reader knows (MNIST's files do).
        help: Option<&'static str>,
    },
    #[cfg(feature = "std")]
    /// An IDX file (the MNIST format) is malformed or not what was expected (inside
    /// [`Error::WithPath`]).
    Idx {
        /// What is wrong with it.
        problem: IdxProblem,
    },
    #[cfg(feature = "std")]
    /// A weights file is malformed or does not fit the network (inside
    /// [`Error::WithPath`]; `<memory>` for bytes).
    Weights {
        /// What is wrong with it.
        problem: WeightsProblem,
    },
    #[cfg(feature = "std")]
    /// Worker threads could not be started.
    Threads {
        /// How many were asked for.
        threads: usize,
        /// What the thread pool said.
        message: String,
    },
    #[cfg(feature = "std")]
    /// A path that must name a regular file names a device, a pipe or a folder (inside
    /// [`Error::WithPath`]).
    NotARegularFile,
    #[cfg(feature = "std")]
    /// A file or its decoded contents are larger than the limit set for it (inside
    /// [`Error::WithPath`]).
    FileTooLarge {
        /// The limit in bytes (of the file, or of its decoded data for compressed files).
        limit: u64,
    },
    /// Memory for data could not be allocated.
    OutOfMemory {
        /// What was being allocated.
        what: &'static str,
        /// How many bytes were asked for.
        bytes: usize,
    },
    /// A weight or bias is NaN or infinite: given so, or grown so by a diverging training.
    NonFiniteParameter {
        /// The tensor: `"weights"` or `"biases"` of a layer being built, or the PyTorch name
        /// of a network's parameter such as `"2.weight"`.
        tensor: String,
        /// Row of the value (the output unit).
        row: usize,
        /// Column of the value (the input; 0 for a bias).
        column: usize,
        /// The epoch after which training found it, if it was found by training.
        epoch: Option<usize>,
    },
    /// A CSV file is malformed or does not fit the network (inside [`Error::WithPath`]).
    #[cfg(feature = "csv")]
    Csv {
        /// The line and column, where the problem has one (boxed: errors stay small).
        place: Box<csv::CsvPlace>,
        /// What is wrong.
        problem: Box<csv::CsvProblem>,
    },
    /// A trainer that holds the optimizer state and progress of one network was asked to
    /// train another (or the same one after its weights were changed).
    OtherNetwork {
        /// Epochs the trainer has done on its network.
        epochs_done: usize,
    },
    /// Two parameter tensors of a network have one name, so a file could not tell them
    /// apart: a layer declares two tensors under one name, or a wrapper layer puts its
    /// child's tensors beside its own instead of under a name of the child's.
    DuplicateParameter {
        /// The name both tensors have (PyTorch's `state_dict` key, e.g. `1.weight`).
        name: String,
    },
    /// An optimizer's state does not fit: it is of another network (a tensor of another
    /// shape, more or fewer tensors) or of another optimizer.
    OptimizerState {
        /// The parameter tensor it does not fit (empty when it is the whole state).
        tensor: String,
        /// What does not fit.
        problem: String,
    },
    /// A training checkpoint lacks something the run needs to go on, or holds it in
    /// another form: it is of another kind of run (other callbacks, a plain weights file).
    Checkpoint {
        /// What is wrong.
        problem: String,
    },
    #[cfg(feature = "std")]
    /// A gradient check ([`gradcheck`](crate::train::gradcheck)) found a backward pass that central
    /// differences do not confirm.
    Gradient(GradientMismatch),
    /// A callback or schedule watches a metric that training does not report (a
    /// validation metric without a validation set, R² for a classifier).
    MissingMetric {
        /// The metric, in words.
        metric: &'static str,
    },
    /// A layer has no ONNX form ([`Layer::to_onnx`](crate::nn::Layer::to_onnx)), so the
    /// network cannot be exported.
    #[cfg(feature = "onnx")]
    NotExportable {
        /// The layer's type.
        layer: String,
        /// Its place in the network (`3`, `1.inner.0`).
        position: String,
    },
    /// The training loss became NaN or infinite.
    Diverged {
        /// Epoch, counted from 1.
        epoch: usize,
        /// Minibatch within the epoch, counted from 1.
        batch: usize,
        /// The loss value found.
        loss: f64,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidBatchSize { batch_size } => {
                write!(f, "invalid batch size {batch_size}: it must be at least 1")
            }
            Error::InvalidLearningRate { value } => write!(
                f,
                "invalid learning rate {}: it must be a finite number greater than 0",
                Short(*value)
            ),
            Error::InvalidHyperparameter {
                name,
                value,
                expected,
            } => write!(f, "invalid {name} {}: it must be {expected}", Short(*value)),
            Error::LabelOutOfRange {
                index,
                label,
                classes,
            } => write!(
                f,
                "sample {index} has class label {label}, but the network has {classes} outputs \
                 (labels must be 0 to {})",
                classes.saturating_sub(1)
            ),
            Error::InvalidTarget {
                index,
                value,
                expected,
            } => write!(
                f,
                "sample {index} has target {value}, but this loss expects {expected}"
            ),
            Error::NonFinite {
                what,
                index,
                component,
            } => write!(
                f,
                "{what} of sample {index} hold a non-finite value (NaN or infinity) at component {component}"
            ),
            Error::RangeTooWide {
                feature,
                min,
                max,
                scalar,
            } => write!(
                f,
                "feature {feature} spans [{min:.3e}, {max:.3e}]: its range overflows {scalar}; \
                 scale the data down first, or use f64"
            ),
            Error::LengthMismatch {
                what,
                expected,
                found,
            } => write!(f, "expected {expected} {what}, found {found}"),
            Error::EmptyDataset { what } => write!(f, "the {what} has no samples"),
            #[cfg(feature = "std")]
            Error::WithPath { path, source } => write!(f, "{}: {source}", path.display()),
            #[cfg(feature = "std")]
            Error::Io { source } => write!(f, "{source}"),
            #[cfg(feature = "std")]
            Error::FileNotFound { looked_for, help } => {
                write!(f, "file not found; looked for")?;
                for (i, p) in looked_for.iter().enumerate() {
                    let sep = if i == 0 { " " } else { ", " };
                    write!(f, "{sep}{}", p.display())?;
                }
                match help {
                    Some(help) => write!(f, ". {help}"),
                    None => Ok(()),
                }
            }
            #[cfg(feature = "std")]
            Error::Idx { problem } => write!(f, "{problem}"),
            #[cfg(feature = "std")]
            Error::Weights { problem } => write!(f, "{problem}"),
            #[cfg(feature = "std")]
            Error::Threads { threads, message } => {
                write!(f, "could not start {threads} worker threads: {message}")
            }
            #[cfg(feature = "std")]
            Error::NotARegularFile => {
                f.write_str("not a regular file (a device, a pipe or a folder)")
            }
            #[cfg(feature = "std")]
            Error::FileTooLarge { limit } => {
                write!(f, "larger than the limit of {limit} bytes set for it")
            }
            Error::OutOfMemory { what, bytes } => {
                write!(f, "out of memory: cannot allocate {bytes} bytes for {what}")
            }
            Error::NonFiniteParameter {
                tensor,
                row,
                column,
                epoch,
            } => {
                write!(
                    f,
                    "{tensor} hold a non-finite value (NaN or infinity) at row {row}, column {column}"
                )?;
                match epoch {
                    Some(e) => write!(
                        f,
                        " after epoch {e}: training diverged (try a smaller learning rate)"
                    ),
                    None => Ok(()),
                }
            }
            #[cfg(feature = "csv")]
            Error::Csv { place, problem } => f.write_str(&csv::describe(place, problem)),
            Error::OtherNetwork { epochs_done } => write!(
                f,
                "this trainer's optimizer state (momentum, moments) and progress ({epochs_done} \
                 epochs) belong to the network it trained, not to this one (or its weights \
                 were changed since): call `Trainer::restart()` to start afresh"
            ),
            #[cfg(feature = "onnx")]
            Error::NotExportable { layer, position } => write!(
                f,
                "layer {position} (`{layer}`) has no ONNX form: implement `Layer::to_onnx` for \
                 it to export the network"
            ),
            Error::DuplicateParameter { name } => write!(
                f,
                "two parameter tensors of the network are named `{name}`: give each tensor of \
                 a layer its own name in `params!`, and declare a wrapped layer with \
                 `child: layer(field)` so that its tensors are named under `child`"
            ),
            Error::OptimizerState { tensor, problem } if tensor.is_empty() => {
                write!(f, "optimizer state: {problem}")
            }
            Error::OptimizerState { tensor, problem } => {
                write!(f, "optimizer state of `{tensor}`: {problem}")
            }
            Error::Checkpoint { problem } => write!(
                f,
                "training checkpoint: {problem} (resume with the same settings, callbacks and \
                 optimizer that wrote it)"
            ),
            #[cfg(feature = "std")]
            Error::Gradient(mismatch) => write!(f, "gradient check: {mismatch}"),
            Error::MissingMetric { metric } => write!(
                f,
                "the {metric} is watched but not reported (give `fit` a validation set, or \
                 watch a metric of this loss)"
            ),
            Error::Diverged { epoch, batch, loss } => write!(
                f,
                "training diverged: the loss became {loss} in epoch {epoch}, batch {batch} \
                 (try a smaller learning rate)"
            ),
        }
    }
}

impl core::error::Error for Error {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            #[cfg(feature = "std")]
            Error::WithPath { source, .. } => Some(&**source),
            #[cfg(feature = "std")]
            Error::Io { source, .. } => Some(source),
            #[cfg(feature = "std")]
            Error::Idx { problem, .. } => Some(problem),
            #[cfg(feature = "std")]
            Error::Weights { problem, .. } => Some(problem),
            #[cfg(feature = "csv")]
            Error::Csv { problem, .. } => Some(&**problem),
            #[cfg(feature = "std")]
            Error::Gradient(mismatch) => Some(mismatch),
            _ => None,
        }
    }
}

#[cfg(feature = "std")]
impl Error {
    /// This error about the file at `path`: wrapped once ([`Error::WithPath`]); an error that
    /// already names its file keeps it.
    pub fn at(self, path: impl AsRef<std::path::Path>) -> Error {
        match self {
            Error::WithPath { .. } => self,
            other => Error::WithPath {
                path: path.as_ref().to_path_buf(),
                source: Box::new(other),
            },
        }
    }

    /// The file the error is about, if it is about one.
    pub fn path(&self) -> Option<&std::path::Path> {
        match self {
            Error::WithPath { path, .. } => Some(path),
            _ => None,
        }
    }

    /// What went wrong, without the file: the error inside [`Error::WithPath`], else itself.
    pub fn kind(&self) -> &Error {
        match self {
            Error::WithPath { source, .. } => source,
            other => other,
        }
    }

    /// [`Error::kind`], by value.
    pub fn into_kind(self) -> Error {
        match self {
            Error::WithPath { source, .. } => *source,
            other => other,
        }
    }
}

/// A number in a message: as written for ordinary sizes, in scientific notation when tiny
/// or huge (`1e-300`, not three hundred digits).
struct Short(f64);

impl fmt::Display for Short {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        if v != 0.0 && v.is_finite() && !(1e-4..1e6).contains(&v.abs()) {
            write!(f, "{v:e}")
        } else {
            write!(f, "{v}")
        }
    }
}

/// The readable message, as `Display` writes it, so that `fn main() -> Result<(), Error>`
/// prints what went wrong rather than the variant's fields.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl core::error::Error for IdxProblem {}

impl core::error::Error for WeightsProblem {}

/// What is wrong with an IDX file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdxProblem {
    /// The data is neither a valid gzip stream nor readable.
    Corrupt {
        /// What the decoder said.
        message: String,
    },
    /// The file ends before its header does.
    TruncatedHeader {
        /// Header bytes required.
        expected: usize,
        /// Bytes present.
        found: usize,
    },
    /// The first two bytes of the magic number are not zero.
    BadMagic {
        /// The four magic bytes found.
        found: [u8; 4],
    },
    /// The element type code is not the one expected (MNIST stores unsigned bytes, 0x08).
    WrongElementType {
        /// The expected type code.
        expected: u8,
        /// The type code found.
        found: u8,
    },
    /// The number or sizes of dimensions differ from what the data must have.
    WrongDimensions {
        /// The dimensions required (`0` where any size is allowed).
        expected: Vec<usize>,
        /// The dimensions in the header.
        found: Vec<usize>,
    },
    /// The data ends before the header's dimensions are filled.
    Truncated {
        /// Data bytes the header announces.
        expected: u64,
        /// Data bytes present.
        found: u64,
    },
    /// Bytes that are not another gzip member follow the compressed data.
    TrailingGarbage,
    /// The header announces more data than the limit set for reading it.
    TooLarge {
        /// Data bytes the header announces.
        bytes: u64,
        /// The limit.
        limit: u64,
    },
    /// Bytes follow the data that the header announces.
    TrailingBytes {
        /// Data bytes the header announces.
        expected: u64,
    },
    /// An image file and its label file disagree on the number of samples.
    CountMismatch {
        /// Images in the image file.
        images: usize,
        /// Labels in the label file.
        labels: usize,
    },
    /// A label is not a digit 0–9.
    LabelOutOfRange {
        /// Index of the label.
        index: usize,
        /// The value found.
        label: u8,
    },
}

impl fmt::Display for IdxProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdxProblem::Corrupt { message } => write!(f, "cannot be decoded: {message}"),
            IdxProblem::TruncatedHeader { expected, found } => write!(
                f,
                "the IDX header needs {expected} bytes, but the file has only {found}"
            ),
            IdxProblem::BadMagic { found } => write!(
                f,
                "not an IDX file: its magic number starts with {:02x} {:02x}, expected 00 00",
                found[0], found[1]
            ),
            IdxProblem::WrongElementType { expected, found } => write!(
                f,
                "element type 0x{found:02x}, expected 0x{expected:02x} (unsigned bytes)"
            ),
            IdxProblem::WrongDimensions { expected, found } => write!(
                f,
                "dimensions {found:?}, expected {expected:?} (0 = any size)"
            ),
            IdxProblem::Truncated { expected, found } => write!(
                f,
                "truncated: the header announces {expected} data bytes, the file has {found}"
            ),
            IdxProblem::TrailingGarbage => f.write_str(
                "bytes that are not gzip data follow the compressed stream (a damaged or \
                 concatenated file?)",
            ),
            IdxProblem::TooLarge { bytes, limit } => write!(
                f,
                "the header announces {bytes} data bytes, more than the limit of {limit}"
            ),
            IdxProblem::TrailingBytes { expected } => write!(
                f,
                "padded: extra bytes follow the {expected} data bytes the header announces"
            ),
            IdxProblem::CountMismatch { images, labels } => write!(
                f,
                "{labels} labels for {images} images: the counts must agree"
            ),
            IdxProblem::LabelOutOfRange { index, label } => {
                write!(f, "label {index} is {label}, expected a digit 0 to 9")
            }
        }
    }
}

/// What is wrong with a weights file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WeightsProblem {
    /// The file says (in its metadata) that it holds another network: the first row of the
    /// two summaries that differs.
    OtherNetwork {
        /// The row of the summary, from 0.
        row: usize,
        /// That row in the file (`1 BatchNorm1d<256> 256 -> 256`).
        file: String,
        /// That row in this network.
        network: String,
        /// The problem with the tensors that it explains.
        detail: String,
    },
    /// Not a readable safetensors file.
    Format {
        /// What the parser said.
        message: String,
    },
    /// The network has a parameter the file lacks.
    MissingTensor {
        /// Its name, e.g. `"2.weight"`.
        name: String,
    },
    /// The file has a tensor the network lacks.
    UnexpectedTensor {
        /// Its name.
        name: String,
    },
    /// A tensor has another element type than the network.
    WrongDtype {
        /// Its name.
        name: String,
        /// The network's type, e.g. `"F32"`.
        expected: String,
        /// The file's type.
        found: String,
    },
    /// A tensor has another shape than the network's parameter.
    WrongShape {
        /// Its name.
        name: String,
        /// The network's shape (PyTorch's `out × in` for a weight).
        expected: Vec<usize>,
        /// The file's shape.
        found: Vec<usize>,
    },
    /// A tensor holds NaN or an infinity.
    NonFinite {
        /// Its name.
        name: String,
        /// Index of the first such value, in the file's (row-major) order.
        index: usize,
    },
}

/// The extra a tensor name belongs to (`scaler` of `scaler.mean`), or `None` for a
/// network's parameter, whose name starts with a layer's position (`2.weight`).
fn extra_of(name: &str) -> Option<&str> {
    let first = name.split('.').next().unwrap_or(name);
    (!first.bytes().all(|b| b.is_ascii_digit()) || first.is_empty()).then_some(first)
}

impl fmt::Display for WeightsProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WeightsProblem::Format { message } => {
                write!(f, "not a valid safetensors file: {message}")
            }
            WeightsProblem::MissingTensor { name } => match extra_of(name) {
                None => write!(
                    f,
                    "tensor `{name}` is missing: the file holds a network of other layers"
                ),
                Some(extra) => write!(
                    f,
                    "tensor `{name}` is missing: the file holds no `{extra}` (it was saved \
                     without it; load it without that extra, or save it with \
                     `io::save_safetensors_with`)"
                ),
            },
            WeightsProblem::OtherNetwork {
                row,
                file,
                network,
                detail,
            } => write!(
                f,
                "the file holds another network: row {row} of its summary is `{file}`, of \
                 this network's `{network}` ({detail})"
            ),
            WeightsProblem::UnexpectedTensor { name } => match extra_of(name) {
                None => write!(
                    f,
                    "tensor `{name}` has no place in this network: the file holds a network \
                     of more or other layers"
                ),
                Some("optimizer" | "trainer" | "callbacks" | "layers") => write!(
                    f,
                    "tensor `{name}` has no place in this network: the file is a training \
                     checkpoint (go on from it with `Trainer::resume`)"
                ),
                Some(extra) => write!(
                    f,
                    "tensor `{name}` has no place in this network: the file also holds \
                     `{extra}` (load it with `io::load_safetensors_with` and an extra named \
                     `{extra}`, such as a scaler)"
                ),
            },
            WeightsProblem::WrongDtype {
                name,
                expected,
                found,
            } => write!(f, "tensor `{name}` holds {found}, expected {expected}"),
            WeightsProblem::WrongShape {
                name,
                expected,
                found,
            } => match extra_of(name) {
                None => write!(
                    f,
                    "tensor `{name}` has shape {found:?}, expected {expected:?}: the file holds \
                     a network of other sizes"
                ),
                Some(extra) => write!(
                    f,
                    "tensor `{name}` has shape {found:?}, expected {expected:?}: the file's \
                     `{extra}` is of another size"
                ),
            },
            WeightsProblem::NonFinite { name, index } => write!(
                f,
                "tensor `{name}` holds a non-finite value (NaN or infinity) at index {index}"
            ),
        }
    }
}

#[cfg(feature = "std")]
/// An analytic gradient that central differences do not confirm.
#[derive(Debug, Clone, PartialEq)]
pub struct GradientMismatch {
    /// Which value: e.g. `"one sample, ∂L/∂x[2]"` or `"batch, parameter 1[5]"` (parameter
    /// tensors numbered in [`Layer::visit_params`](crate::nn::layer::Layer::visit_params) order).
    pub what: String,
    /// What the backward pass gave.
    pub analytic: f64,
    /// What central differences measured.
    pub numeric: f64,
}

#[cfg(feature = "std")]
impl fmt::Display for GradientMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: the backward pass gives {}, central differences {}",
            self.what, self.analytic, self.numeric
        )
    }
}

#[cfg(feature = "std")]
impl std::error::Error for GradientMismatch {}
