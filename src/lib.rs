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
//! - Layers: [`Linear`], and the activations [`Relu`], [`LeakyRelu`], [`Tanh`], [`Sigmoid`],
//!   [`Softmax`]; chained with [`Layer::then`] or [`seq!`] into a [`Chain`].
//! - Losses ([`Loss`]): [`SoftmaxCrossEntropy`] (from logits), [`CrossEntropy`] (from
//!   probabilities), [`LogisticLoss`] (binary, from one logit), [`Mse`], [`Mae`].
//! - Optimizers ([`Optimizer`]): [`Sgd`] (with momentum and Nesterov), [`Adam`]; both with
//!   L2 weight decay.
//! - Initialisation: [`Init`] (Xavier/Glorot, He/Kaiming, LeCun), or given weights with
//!   [`Linear::from_rows`].
//! - Data and training: [`Dataset`], [`datasets`] (toy problems), [`Trainer`] (the epoch
//!   loop), [`train_sample`] and [`Workspace`] (single steps), [`evaluate`], [`accuracy`],
//!   [`ConfusionMatrix`].
//! - Files: [`mnist::load_mnist`] and [`idx`] (the IDX format, gzip'd or raw), [`io`]
//!   (weights as safetensors, in PyTorch's names and layout), [`write_atomic`].
//! - Two cores, on request: [`with_threads`], with results identical to one thread.
//!
//! ## Example: learning XOR
//! ```
//! use constnet::{seq, accuracy, Adam, Dataset, Init, Layer, Linear, SoftmaxCrossEntropy, Tanh, Trainer};
//! use rand::SeedableRng;
//!
//! let data = Dataset::<f32, 2, usize>::from_rows(
//!     &[0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0],
//!     vec![0, 1, 1, 0],
//! )?;
//! let mut rng = rand::rngs::StdRng::seed_from_u64(0);
//! // 2 inputs -> 8 hidden units (tanh) -> 2 classes: the sizes are checked at compile time.
//! let mut net = seq![
//!     Linear::<2, 8>::new(Init::XavierUniform, &mut rng),
//!     Tanh,
//!     Linear::<8, 2>::new(Init::XavierUniform, &mut rng),
//! ];
//! Trainer::new(SoftmaxCrossEntropy, Adam::new(0.05)?)
//!     .epochs(300)
//!     .batch_size(4)
//!     .fit(&mut net, &data, None, &mut ())?;
//! assert_eq!(accuracy(&net, &data), 1.0);
//! # Ok::<(), constnet::Error>(())
//! ```
//!
//! A size mismatch is a compile error that names the layer and the sizes:
//! ```text
//! error[E0277]: `Linear<100, 10>` is not a layer from 128 to _ values of type `f32`
//! ```
#![deny(missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod build;
mod data;
mod error;
mod fsutil;
pub mod gradcheck;
pub mod guide;
mod init;
#[cfg(feature = "safetensors")]
pub mod io;
mod layer;
mod layers;
mod linalg;
mod loss;
mod metrics;
mod model;
mod optim;
mod parallel;
mod scalar;
mod summary;
#[cfg(test)]
mod testing;
mod train;

pub use build::Build;
pub use data::Dataset;
pub use data::synthetic as datasets;
pub use data::{idx, mnist};
pub use error::{Error, IdxProblem, WeightsProblem};
pub use fsutil::{check_writable, write_atomic};
pub use init::Init;
pub use layer::{
    Chain, ChainBatchTape, ChainTape, Layer, LayerInfo, Param, ParamKind, ParamMut, Takes,
};
pub use layers::{Activation, Elementwise, LeakyRelu, Linear, Relu, Sigmoid, Softmax, Tanh};
pub use linalg::Batch;
pub use loss::{
    BatchLoss, CrossEntropy, LogisticLoss, Loss, Mae, Mse, OneOutput, SoftmaxCrossEntropy,
    TargetsOf,
};
pub use metrics::{ConfusionMatrix, accuracy, argmax};
pub use model::{DynTape, Model};
pub use optim::{Adam, Optimizer, Sgd};
pub use parallel::{current_threads, with_threads};
pub use scalar::{SameScalar, Scalar};
pub use summary::{Summary, summary};
pub use train::{
    BatchProgress, EpochReport, Evaluation, Observer, Order, PrintEpochs, Trainer, Workspace,
    evaluate, max_abs_weights, train_sample,
};

/// The README's code compiles and runs: it is tested as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

// Re-exported so that users name the same versions the library uses.
pub use nalgebra;
pub use rand;
