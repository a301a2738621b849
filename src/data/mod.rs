//! Data: the [`Dataset`] (where outside numbers become typed, checked samples), CSV files
//! ([`Csv`]), scalers and splits, toy problems ([`datasets`]), and the IDX/MNIST files
//! ([`idx`], [`mnist`]).

#[cfg(feature = "csv")]
pub(crate) mod csv;
mod dataset;
#[cfg(feature = "std")]
pub mod datasets;
#[cfg(feature = "std")]
pub mod idx;
#[cfg(feature = "std")]
pub mod mnist;
pub(crate) mod preprocess;

#[cfg(feature = "csv")]
pub use csv::{Column, Csv, CsvClasses, CsvRows, CsvValues, DEFAULT_CSV_LIMIT};
pub use dataset::Dataset;
pub use preprocess::{MinMaxScaler, StandardScaler};
#[cfg(feature = "std")]
pub use preprocess::{Split, k_fold, stratified_split, train_test_split};
