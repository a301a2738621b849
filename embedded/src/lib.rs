//! A handwritten-digit classifier for a microcontroller, built with constnet without `std`:
//! a 784-32-10 ReLU network trained on MNIST by the desktop example
//! (`cargo run --release --example mnist -- --hidden 32 --save model.safetensors`), exported
//! to Rust statics (`cargo run --example export -- model.safetensors > src/model.rs`), so
//! that its 25,450 weights live in flash and inference touches no heap.
//!
//! The same code runs on the host, where `tests/host.rs` checks it bit for bit against the
//! `std` build of the network loaded from `model.safetensors`.
#![no_std]

pub mod model;

use constnet::Layer;
use constnet::nalgebra::SVector;

/// Pixels of an image (28×28, row by row).
pub const PIXELS: usize = 784;

/// The first 32 images of the MNIST test set and their labels, as bytes: 32 × 784 pixels,
/// then 32 labels.
pub static DIGITS: &[u8; 32 * PIXELS + 32] = include_bytes!("../digits.bin");

/// How many bundled digits there are.
pub const BUNDLED: usize = 32;

/// The network's input for an image: each pixel over 255, as the MNIST loader does.
pub fn input(image: &[u8; PIXELS]) -> SVector<f32, PIXELS> {
    SVector::from_fn(|i, _| f32::from(image[i]) / 255.0)
}

/// The ten class scores (logits) of an image.
pub fn scores(image: &[u8; PIXELS]) -> SVector<f32, 10> {
    model::network().forward(&input(image))
}

/// The digit an image shows: the arg-max of its scores.
pub fn classify(image: &[u8; PIXELS]) -> u8 {
    constnet::argmax(scores(image).as_slice()) as u8
}

/// Bundled digit `k` and its label.
///
/// # Panics
/// If `k >= BUNDLED`.
pub fn bundled(k: usize) -> (&'static [u8; PIXELS], u8) {
    let image = DIGITS[k * PIXELS..(k + 1) * PIXELS]
        .try_into()
        .expect("784 bytes");
    (image, DIGITS[BUNDLED * PIXELS + k])
}

/// How many of the bundled digits are classified correctly.
pub fn correct_bundled() -> usize {
    (0..BUNDLED)
        .filter(|&k| {
            let (image, label) = bundled(k);
            classify(image) == label
        })
        .count()
}
