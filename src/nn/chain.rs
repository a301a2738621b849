//! [`Chain`](crate::nn::Chain): two layers one after the other.
//! Its passes are in `layer.rs`, beside the trait's, and so is `seq!`.

use nalgebra::SVector;

use crate::base::scalar::Scalar;
use crate::nn::takes::Takes;

/// Two layers applied one after the other: `A` maps `I → M`, then `B` maps `M → O`.
///
/// Built with [`Layer::then`](crate::nn::Layer::then) (or the [`seq!`](crate::seq) macro), which only compiles when
/// the sizes meet. The middle size `M` is part of the type because an activation such as
/// [`Relu`](crate::nn::layers::Relu) fits any size and cannot name it itself.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Chain<A, B: Takes<M>, const M: usize> {
    pub(crate) first: A,
    pub(crate) second: B,
}

impl<A, B: Takes<M>, const M: usize> Chain<A, B, M> {
    /// Two layers, one after the other. [`Layer::then`](crate::nn::Layer::then) and [`seq!`](crate::seq) build the
    /// same with a check that `A` gives `M` outputs.
    pub const fn new(first: A, second: B) -> Self {
        Chain { first, second }
    }
    /// The first layer.
    pub fn first(&self) -> &A {
        &self.first
    }
    /// The second layer.
    pub fn second(&self) -> &B {
        &self.second
    }
    /// The first layer, mutably.
    pub fn first_mut(&mut self) -> &mut A {
        &mut self.first
    }
    /// The second layer, mutably.
    pub fn second_mut(&mut self) -> &mut B {
        &mut self.second
    }
}

/// The one-sample tape of a [`Chain`](crate::nn::Chain): both layers' tapes and the hidden activation.
#[derive(Debug, Clone)]
pub struct ChainTape<TA, TB, T: Scalar, const M: usize> {
    pub(crate) first: TA,
    pub(crate) hidden: SVector<T, M>,
    pub(crate) second: TB,
}

impl<A: Takes<I>, B: Takes<M>, const I: usize, const M: usize> Takes<I> for Chain<A, B, M> {}
