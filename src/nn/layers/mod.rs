//! The layer families: [`Linear`], the convolutions ([`Conv2d`], [`Conv1d`]) and pooling
//! ([`MaxPool2d`], [`AvgPool2d`], [`MaxPool1d`], [`AvgPool1d`], [`Flatten`]), the activation
//! functions and [`Dropout`].

mod activation;
mod conv;
mod dropout;
mod implicit;
mod linear;
mod norm;
mod pool;
#[cfg(all(test, feature = "std"))]
mod reference;
mod residual;
mod static_linear;
#[cfg(all(feature = "std", target_arch = "x86_64"))]
mod tiles;
pub(crate) mod window;

pub(crate) use activation::sigmoid;
pub use activation::{Activation, Elementwise, LeakyRelu, Relu, Sigmoid, Softmax, Tanh};
pub use conv::{Conv1d, Conv2d, StaticConv2d};
pub use dropout::{Dropout, DropoutTape};
pub use linear::Linear;
pub use norm::{
    BatchNorm, BatchNorm1d, BatchNorm2d, BatchNormSampleTape, LayerNorm, LayerNormTape,
};
pub use pool::{AvgPool1d, AvgPool2d, Flatten, MaxPool1d, MaxPool2d};
pub use residual::Residual;
pub use static_linear::StaticLinear;
