//! The layer families: [`Linear`] and the activation functions.

mod activation;
mod linear;

pub(crate) use activation::sigmoid;
pub use activation::{Activation, Elementwise, LeakyRelu, Relu, Sigmoid, Softmax, Tanh};
pub use linear::Linear;
