//! IDX bytes, raw or gzip'd: a value whose size matches its dimensions, or a typed error.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let read = constnet::idx::IdxReader::from_bytes(data, Path::new("fuzz"))
        .and_then(|r| r.read_data(1 << 24));
    if let Ok(array) = read {
        assert_eq!(array.dims.iter().product::<usize>(), array.data.len());
    }
});
