//! Networks: the [`Layer`](crate::Layer) trait, chains, the run-time model, building a network
//! from its type, initialisation, the summary, the losses, and the layer families.

pub(crate) mod build;
pub(crate) mod chain;
pub(crate) mod init;
pub(crate) mod layer;
pub(crate) mod layers;
pub(crate) mod loss;
pub(crate) mod model;
pub(crate) mod param;
pub(crate) mod summary;
pub(crate) mod takes;
