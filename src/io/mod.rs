//! Files: weights in and out (safetensors, in PyTorch's names and layout), atomic writes,
//! and serde support.

#[cfg(feature = "std")]
pub(crate) mod fs;
#[cfg(feature = "safetensors")]
mod metadata;
#[cfg(feature = "onnx")]
#[cfg_attr(docsrs, doc(cfg(feature = "onnx")))]
pub mod onnx;
#[cfg(feature = "safetensors")]
mod record;
#[cfg(feature = "safetensors")]
pub(crate) mod safetensors;
#[cfg(feature = "serde")]
mod serde;

#[cfg(feature = "std")]
pub use self::fs::{check_writable, write_atomic};
#[cfg(feature = "safetensors")]
pub use self::metadata::{Metadata, metadata_of, read_metadata};
#[cfg(feature = "onnx")]
pub use self::onnx::{save_onnx, save_onnx_described, to_onnx, to_onnx_described};
#[cfg(feature = "safetensors")]
pub use self::record::Record;
#[cfg(feature = "safetensors")]
pub use self::safetensors::{
    Extra, from_safetensors, load_safetensors, load_safetensors_with, save_safetensors,
    save_safetensors_described, save_safetensors_with, to_safetensors, to_safetensors_described,
    to_safetensors_with,
};
