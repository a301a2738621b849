//! CSV bytes: a dataset of the asked width whose every feature is finite, or a typed error;
//! under a memory limit too (a file of many tiny rows is refused, never read past the limit).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the settings, so that headers, delimiters and targets all get fuzzed.
    let (settings, text) = data.split_first().unwrap_or((&0, data));
    let csv = constnet::data::Csv::new()
        .has_header(settings & 1 == 0)
        .delimiter(if settings & 2 == 0 { b',' } else { b';' })
        .target(usize::from(settings >> 4))
        // Bits 2 and 3: the default limit, or 64, 512 or 4096 bytes.
        .limit(match (settings >> 2) & 3 {
            0 => constnet::data::DEFAULT_CSV_LIMIT,
            k => 8 << (3 * k),
        });
    if let Ok(read) = csv.parse_classes::<f32, 2>(text, "fuzz.csv") {
        assert!(read.data.features().iter().all(|v| v.is_finite()));
        assert!(read.data.targets().iter().all(|&t| t < read.classes.len()));
        assert_eq!(read.features.len(), 2);
    }
    if let Ok(read) = csv.parse_values::<f64, 1>(text, "fuzz.csv") {
        assert!(read.data.targets().iter().all(|t| t[0].is_finite()));
    }
});
