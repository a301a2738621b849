//! Safetensors bytes loaded into small networks (one of dense layers, one with batch
//! normalisation, whose file holds an int64 count): finite values, or a typed error that
//! leaves the network unchanged.
#![no_main]

use constnet::nn::{BatchNorm1d, Layer, Linear, Path, Relu};
use libfuzzer_sys::fuzz_target;

/// Every value of `net`, in visiting order.
fn values<N: Layer<f32, I, O>, const I: usize, const O: usize>(net: &N) -> Vec<f32> {
    let mut out = Vec::new();
    net.visit_params(&Path::ROOT, &mut |p| out.extend_from_slice(p.value));
    out
}

fuzz_target!(|data: &[u8]| {
    let mut net = Linear::<3, 4>::zeros()
        .then(Relu)
        .then(Linear::<4, 2>::zeros());
    match constnet::io::from_safetensors(&mut net, data) {
        Ok(()) => assert!(values(&net).iter().all(|v| v.is_finite())),
        Err(_) => assert!(values(&net).iter().all(|&v| v == 0.0)),
    }
    let mut normed = Linear::<3, 4>::zeros().then(BatchNorm1d::<4>::new());
    let before = values(&normed);
    match constnet::io::from_safetensors(&mut normed, data) {
        Ok(()) => {
            assert!(values(&normed).iter().all(|v| v.is_finite()));
            let _ = normed.second().num_batches_tracked();
        }
        Err(_) => assert_eq!(values(&normed), before),
    }
});
