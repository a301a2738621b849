//! An MNIST image file and label file (the input cut in two at its first byte's position):
//! a dataset of valid digits, or a typed error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, rest)) = data.split_first() else {
        return;
    };
    let cut = (usize::from(cut) * rest.len() / 255).min(rest.len());
    let (images, labels) = rest.split_at(cut);
    if let Ok(set) = constnet::data::mnist::parse_mnist(images, labels, 1000) {
        assert!(set.targets().iter().all(|&l| l < 10));
    }
});
