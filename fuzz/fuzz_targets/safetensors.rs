//! Safetensors bytes loaded into a small network: finite weights, or a typed error that
//! leaves the network unchanged.
#![no_main]

use constnet::nn::{Layer, Linear, Relu};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut net = Linear::<3, 4>::zeros()
        .then(Relu)
        .then(Linear::<4, 2>::zeros());
    match constnet::io::from_safetensors(&mut net, data) {
        Ok(()) => net.visit_params(&constnet::nn::Path::ROOT, &mut |p| {
            assert!(p.value.iter().all(|v| v.is_finite()))
        }),
        Err(_) => net.visit_params(&constnet::nn::Path::ROOT, &mut |p| {
            assert!(p.value.iter().all(|&v| v == 0.0))
        }),
    }
});
