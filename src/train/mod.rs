//! Training: single steps, evaluation, metrics, the epoch loop, its callbacks, schedules
//! and reports, and gradient checks.

#[cfg(feature = "std")]
pub(crate) mod callback;
#[cfg(feature = "safetensors")]
pub(crate) mod checkpoint;
#[cfg(feature = "std")]
pub mod gradcheck;
pub(crate) mod metrics;
#[cfg(feature = "std")]
pub(crate) mod report;
#[cfg(feature = "std")]
pub(crate) mod schedule;
pub(crate) mod step;
#[cfg(feature = "std")]
pub(crate) mod trainer;
