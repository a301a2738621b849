//! # constnet
//!
//! Neural networks whose layer sizes are part of their types, so that the compiler checks
//! every connection. `Linear<784, 128>` followed by `Linear<100, 10>` does not compile;
//! a network that compiles cannot meet a dimension error at run time.
//!
//! Layers run on nalgebra's statically sized matrices: one sample at a time on the stack with
//! no heap allocation (for small, fast networks), or a minibatch at a time with the products
//! in `matrixmultiply` (for MNIST-sized training). Large weight matrices live on the heap,
//! so even debug builds train MNIST-sized networks on a 2 MiB thread stack.
//!
//! ## A tour
//!
//! - Network types: [`Net!`] names a network in one line, in layer order, each size written
//!   once (`Net![Linear<784, 128>, Relu, Linear<128, 10>]`), and [`Build`](crate::nn::Build) builds it from the
//!   type (`Mlp::init(&mut rng)`, He before rectifiers, Glorot otherwise). [`summary`](crate::nn::summary) prints
//!   its layers, sizes and parameter counts.
//! - Convolutional networks: [`Conv2d`](crate::nn::Conv2d), [`Conv1d`](crate::nn::Conv1d),
//!   [`MaxPool2d`](crate::nn::MaxPool2d), [`AvgPool2d`](crate::nn::AvgPool2d),
//!   [`MaxPool1d`](crate::nn::MaxPool1d), [`AvgPool1d`](crate::nn::AvgPool1d),
//!   [`Flatten`](crate::nn::Flatten) and [`StaticConv2d`](crate::nn::StaticConv2d) (for `no_std`);
//!   `Net![Input<1, 28, 28>, Conv2d<1, 8, 5>, ...]` works out and checks every shape at compile
//!   time ([`nn::shape`]).
//! - Layers: [`Linear`](crate::nn::Linear), and the activations [`Relu`](crate::nn::Relu), [`LeakyRelu`](crate::nn::LeakyRelu), [`Tanh`](crate::nn::Tanh), [`Sigmoid`](crate::nn::Sigmoid),
//!   [`Softmax`](crate::nn::Softmax); chained with [`Layer::then`](crate::nn::Layer::then) or [`seq!`] into a [`Chain`](crate::nn::Chain). Your own layer:
//!   [`Takes`](crate::nn::Takes) and [`Layer`](crate::nn::Layer) in three parts (one-sample
//!   forward and backward, parameters declared with [`params!`]), checked with
//!   [`gradcheck`](crate::train::gradcheck); see the [`guide`].
//! - Chosen at run time: `Box<dyn `[`Model`](crate::nn::Model)`<T, I, O>>` is a [`Layer`](crate::nn::Layer) and
//!   `Box<dyn `[`Optimizer`](crate::optim::Optimizer)`<T>>` an optimizer.
//! - Losses ([`Loss`](crate::nn::Loss)): [`SoftmaxCrossEntropy`](crate::nn::SoftmaxCrossEntropy) (from logits), [`CrossEntropy`](crate::nn::CrossEntropy) (from
//!   probabilities), [`LogisticLoss`](crate::nn::LogisticLoss) (binary, from one logit), [`Mse`](crate::nn::Mse), [`Mae`](crate::nn::Mae).
//! - Optimizers ([`Optimizer`](crate::optim::Optimizer)): [`Sgd`](crate::optim::Sgd) (with momentum and Nesterov), [`Adam`](crate::optim::Adam); both with
//!   L2 weight decay.
//! - Initialisation: [`Init`](crate::nn::Init) (Xavier/Glorot, He/Kaiming, LeCun), or given weights with
//!   [`Linear::from_rows`](crate::nn::Linear::from_rows).
//! - Data: [`Dataset`](crate::data::Dataset), [`Csv`](crate::data::Csv) (CSV files checked against the feature count),
//!   [`StandardScaler`](crate::data::StandardScaler), [`MinMaxScaler`](crate::data::MinMaxScaler), [`train_test_split`](crate::data::train_test_split), [`stratified_split`](crate::data::stratified_split),
//!   [`k_fold`](crate::data::k_fold), [`datasets`](crate::data::datasets) (toy problems).
//! - Training: [`Trainer`](crate::train::Trainer) (the epoch loop, with [`Schedule`](crate::train::Schedule)s and callbacks such as
//!   [`EarlyStopping`](crate::train::EarlyStopping) and [`Checkpoint`](crate::train::Checkpoint); see [`Callback`](crate::train::Callback)), [`Dropout`](crate::nn::Dropout), [`train_sample`](crate::train::train_sample)
//!   and [`Workspace`](crate::train::Workspace) (single steps), [`evaluate`](crate::train::evaluate) (loss, accuracy, F1, R², MAE, RMSE),
//!   [`accuracy`](crate::train::accuracy), [`ConfusionMatrix`](crate::train::ConfusionMatrix) (with a per-class report); training
//!   checkpoints that resume exactly ([`Trainer::resume`](crate::train::Trainer::resume)).
//! - Where things are: [`prelude`] for the everyday names; [`nn`], [`optim`], [`data`],
//!   [`io`], [`train`], [`error`] for the rest.
//! - Without `std` (`default-features = false`): layers, chains, one-sample forward and
//!   training, losses, metrics; [`StaticLinear`](crate::nn::StaticLinear) borrows weights from `static`s (flash) for
//!   inference with no heap (the `export` example writes them; see `embedded/`).
//! - With the `serde` feature: layers, chains and scalers serialise, shapes checked on
//!   reading.
//! - Files: [`mnist::load_mnist`](crate::data::mnist::load_mnist) and [`idx`](crate::data::idx) (the IDX format, gzip'd or raw), [`io`]
//!   (weights as safetensors, in PyTorch's names and layout), [`write_atomic`](crate::io::write_atomic); every
//!   malformed input is a typed [`Error`], never a panic or an unbounded allocation.
//! - Two cores, on request: [`with_threads`], with results identical to one thread.
//!
//! ## Example: learning XOR
//! ```
//! use constnet::{Net, data::Dataset, nn::{Build, Linear, SoftmaxCrossEntropy, Tanh, summary}, optim::Adam, train::{Trainer, accuracy}};
//! use rand::SeedableRng;
//!
//! let data = Dataset::<f32, 2, usize>::from_rows(
//!     &[0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0],
//!     vec![0, 1, 1, 0],
//! )?;
//! // 2 inputs -> 8 hidden units (tanh) -> 2 classes: the sizes are checked at compile time.
//! type Xor = Net![Linear<2, 8>, Tanh, Linear<8, 2>];
//! let mut net = Xor::init(&mut rand::rngs::StdRng::seed_from_u64(0));
//! Trainer::new(SoftmaxCrossEntropy, Adam::new(0.05)?)
//!     .epochs(300)
//!     .batch_size(4)
//!     .fit(&mut net, &data, None, &mut ())?;
//! assert_eq!(accuracy(&net, &data), 1.0);
//! assert_eq!(summary(&net).total_params(), 2 * 8 + 8 + 8 * 2 + 2);
//! # Ok::<(), constnet::Error>(())
//! ```
//!
//! A size mismatch is a compile error that names the layer and the sizes:
//! ```text
//! error[E0277]: `Linear<100, 10>` cannot take 128 inputs
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks)]

extern crate alloc;

mod base;
pub mod data;
pub mod error;
pub mod guide;
pub mod io;
pub mod nn;
pub mod optim;
#[cfg(feature = "std")]
#[cfg(test)]
mod testing;
pub mod train;

pub use base::linalg::Batch;
pub use base::scalar::Scalar;
pub use base::threads::current_threads;
#[cfg(feature = "std")]
pub use base::threads::with_threads;
pub use error::Error;

/// The everyday names: `use constnet::prelude::*;` and a network can be named, built,
/// trained, evaluated and saved.
pub mod prelude {
    pub use crate::data::Dataset;
    pub use crate::nn::{
        Build, CrossEntropy, Dropout, Init, Layer, LeakyRelu, Linear, LogisticLoss, Loss, Mae,
        Model, Mse, Relu, Sigmoid, Softmax, SoftmaxCrossEntropy, Takes, Tanh, summary,
    };
    pub use crate::optim::{Adam, Optimizer, Sgd};
    #[cfg(feature = "std")]
    pub use crate::train::{
        Callback, EarlyStopping, Metric, Order, PrintEpochs, Schedule, Trainer,
    };
    pub use crate::train::{accuracy, evaluate, train_sample};
    #[cfg(feature = "std")]
    pub use crate::with_threads;
    pub use crate::{Batch, Error, Net, Scalar, params, seq};
}

/// Traits that exist to word compile errors: a network and an optimizer of other scalar
/// types ([`SameScalar`](crate::bounds::SameScalar)), a loss and targets of another kind ([`TargetsOf`](crate::bounds::TargetsOf),
/// [`Classified`](crate::bounds::Classified), [`OneOutput`](crate::bounds::OneOutput)). Code rarely names them.
pub mod bounds {
    pub use crate::base::scalar::SameScalar;
    pub use crate::nn::loss::{Classified, OneOutput, TargetsOf};
}

/// The allocation types of the standard prelude, for the modules built without `std`.
#[allow(unused_imports)] // each module takes what it needs
mod alloc_prelude {
    pub(crate) use alloc::boxed::Box;
    pub(crate) use alloc::format;
    pub(crate) use alloc::string::{String, ToString};
    pub(crate) use alloc::vec;
    pub(crate) use alloc::vec::Vec;
}

/// The README's code compiles and runs: it is tested as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

// Re-exported so that users name the same versions the library uses.
pub use nalgebra;
pub use rand;
