//! The `export` example's reading of a weights file, with the layer list of `--input` and
//! `--layers` fuzzed too: Rust source, or an error message, never a panic (overflow checks
//! are on in cargo-fuzz's default build) or an allocation beyond the example's limits.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code, unused_imports)]
#[path = "../../examples/export.rs"]
mod export;

fuzz_target!(|data: &[u8]| {
    // The first byte k: the next k bytes are `C,H,W;layers`, the rest is the file.
    let (k, rest) = data.split_first().unwrap_or((&0, data));
    let (spec, bytes) = rest.split_at(usize::from(*k).min(rest.len()));
    let Ok(file) = safetensors::SafeTensors::deserialize(bytes) else {
        return;
    };
    let path = std::path::Path::new("fuzz.safetensors");
    if let Ok((scalar, layers)) = export::dense_layers(&file) {
        let source = export::source(path, scalar, "Relu", &layers);
        assert!(source.contains("pub const fn network()"));
    }
    let spec = String::from_utf8_lossy(spec);
    let (input, layers) = spec.split_once(';').unwrap_or(("1,4,4", &spec));
    let _ = export::cnn::source(path, &file, input, layers);
});
