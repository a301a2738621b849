//! Datasets: where outside numbers become typed, checked samples.

#[cfg(feature = "csv")]
pub mod csv;
mod dataset;
#[cfg(feature = "std")]
pub mod idx;
#[cfg(feature = "std")]
pub mod mnist;
pub mod preprocess;
#[cfg(feature = "std")]
pub mod synthetic;

pub use dataset::Dataset;
