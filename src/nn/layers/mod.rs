//! The layer families: [`Linear`], the activation functions and [`Dropout`].

mod activation;
mod dropout;
mod linear;
mod static_linear;

pub(crate) use activation::sigmoid;
pub use activation::{Activation, Elementwise, LeakyRelu, Relu, Sigmoid, Softmax, Tanh};
pub use dropout::{Dropout, DropoutTape};
pub use linear::Linear;
pub use static_linear::StaticLinear;
