//! Networks: the [`Layer`] trait and its three parts, chains ([`Chain`], [`Net!`](crate::Net),
//! [`seq!`](crate::seq)), the run-time [`Model`], building from the type ([`Build`], [`Init`]),
//! parameters and their names ([`Param`], [`Path`], [`params!`](crate::params)), the
//! [`summary`], the losses, and the layer families.

pub(crate) mod build;
pub(crate) mod chain;
pub(crate) mod init;
pub(crate) mod layer;
pub(crate) mod layers;
pub(crate) mod loss;
pub(crate) mod model;
#[cfg(feature = "onnx")]
pub(crate) mod onnx;
pub(crate) mod param;
pub mod shape;
pub(crate) mod summary;
pub(crate) mod takes;

pub use build::Build;
pub use chain::{Chain, ChainTape};
pub use init::Init;
pub use layer::{DynTape, Layer, LayerInfo};
pub use layers::{
    Activation, AvgPool1d, AvgPool2d, BatchNorm, BatchNorm1d, BatchNorm2d, BatchNormSampleTape,
    Conv1d, Conv2d, Dropout, DropoutTape, Elementwise, Flatten, LayerNorm, LayerNormTape,
    LeakyRelu, Linear, MaxPool1d, MaxPool2d, Relu, Residual, Sigmoid, Softmax, StaticConv2d,
    StaticLinear, Tanh,
};
pub use loss::{
    BatchLoss, CrossEntropy, LogisticLoss, Loss, Mae, Mse, SmoothedCrossEntropy,
    SoftmaxCrossEntropy,
};
pub use model::Model;
pub use param::{FullName, Param, ParamMut, Path, Role, Segment, Shape, StateOp};
pub use summary::{Summary, summary};
pub use takes::Takes;
