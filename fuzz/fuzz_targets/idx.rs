//! IDX bytes, raw or gzip'd: a value whose size matches its dimensions, or a typed error.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let read = constnet::data::idx::IdxReader::from_bytes(data, Path::new("fuzz"))
        .and_then(|r| r.read_data(1 << 24));
    if let Ok(array) = read {
        // Checked: a header may hold huge sizes next to a zero one (found by this target).
        let size = array.dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
        assert!(
            size == Some(array.data.len()) || (array.dims.contains(&0) && array.data.is_empty())
        );
    }
});
