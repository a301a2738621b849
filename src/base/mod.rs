//! The foundation that everything else stands on: scalar types, the SIMD dispatch, matrix
//! products on minibatches, and the thread team. Nothing here knows about layers.

pub(crate) mod disjoint;
pub(crate) mod linalg;
pub(crate) mod names;
pub(crate) mod scalar;
pub(crate) mod simd;
pub(crate) mod threads;
