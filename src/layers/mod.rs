//! The layer families: [`Linear`] and the activation functions.

mod activation;
mod linear;

pub use activation::{Activation, Elementwise, LeakyRelu, Relu, Sigmoid, Softmax, Tanh};
pub(crate) use activation::{sigmoid, softmax_into};
pub use linear::Linear;
