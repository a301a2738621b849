//! Seeded mutation tests of every reader of outside bytes: thousands of damaged IDX, MNIST
//! and safetensors inputs (bit flips, overwritten, inserted and deleted bytes, truncations,
//! splices of two inputs) must each give a value or a typed error, never a panic, and a
//! damaged gzip file must never read as other data. These keep what fuzzing found (the
//! cargo-fuzz targets are in `fuzz/`) in the ordinary test suite, in seconds.

use std::io::Write;
use std::path::Path;

use constnet::data::idx::{IdxArray, encode_idx, parse_idx};
use constnet::rand::rngs::StdRng;
use constnet::rand::{RngExt, SeedableRng};
use constnet::{
    Error,
    data::mnist,
    error::IdxProblem,
    io,
    nn::{Layer, Linear, Relu},
};

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// One random damage to `bytes` (`other` is spliced in by one of the kinds).
fn mutate(rng: &mut StdRng, bytes: &[u8], other: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let at = |rng: &mut StdRng, len: usize| rng.random_range(0..len.max(1));
    for _ in 0..rng.random_range(1..4) {
        match rng.random_range(0..7) {
            0 if !out.is_empty() => {
                let i = at(rng, out.len());
                out[i] ^= 1 << rng.random_range(0..8);
            }
            1 if !out.is_empty() => {
                let i = at(rng, out.len());
                out[i] = *[0, 1, 0x7f, 0x80, 0xff]
                    .get(rng.random_range(0..5))
                    .unwrap();
            }
            2 => {
                let i = at(rng, out.len() + 1).min(out.len());
                out.insert(i, rng.random());
            }
            3 if !out.is_empty() => {
                let i = at(rng, out.len());
                out.remove(i);
            }
            4 => {
                let keep = at(rng, out.len() + 1);
                out.truncate(keep);
            }
            5 => {
                let cut = at(rng, out.len() + 1).min(out.len());
                let from = at(rng, other.len() + 1).min(other.len());
                out.truncate(cut);
                out.extend_from_slice(&other[from..]);
            }
            _ => {
                // Big-endian sizes are where a header lies: make one huge.
                if out.len() >= 8 {
                    let i = 4 + 4 * at(rng, (out.len() - 4) / 4).min(1);
                    out[i] = 0xff;
                }
            }
        }
    }
    out
}

fn cases() -> usize {
    std::env::var("CONSTNET_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000)
}

/// The data holds the product of the dimensions (checked: a header may hold huge sizes
/// next to a zero one).
fn assert_consistent(dims: &[usize], data: &[u8]) {
    let size = dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    assert!(
        size == Some(data.len()) || (dims.contains(&0) && data.is_empty()),
        "{dims:?}"
    );
}

/// Found by `cargo fuzz run idx` in its first CI run: 15 dimensions, huge ones and a zero, so
/// the product overflows a `usize` before it reaches the zero. The reader handles it (its
/// size saturates, then is 0); the fuzz target's own check overflowed.
#[test]
fn huge_dimensions_next_to_a_zero_one_read_as_empty() {
    let mut header = vec![0u8, 0, 8, 15];
    for d in [
        0xffff_ffffu32,
        0xffff_ffff,
        0xffff_ffff,
        0,
        5,
        5,
        5,
        5,
        5,
        5,
        5,
        5,
        5,
        5,
        5,
    ] {
        header.extend(d.to_be_bytes());
    }
    let read = constnet::data::idx::IdxReader::from_bytes(&header, Path::new("fuzz"))
        .and_then(|r| r.read_data(1 << 20))
        .unwrap();
    assert_consistent(&read.dims, &read.data);
    assert!(read.data.is_empty());
}

#[test]
fn damaged_idx_files_give_values_or_typed_errors() {
    let mut rng = StdRng::seed_from_u64(1);
    let data: Vec<u8> = (0..6 * 5 * 4).map(|i| (i * 7) as u8).collect();
    let raw = encode_idx(&[6, 5, 4], &data).unwrap();
    let seeds = [
        raw.clone(),
        gzip(&raw),
        gzip(&raw[..9]).into_iter().chain(gzip(&raw[9..])).collect(),
    ];
    let mut errors = 0;
    for case in 0..cases() {
        let seed = &seeds[case % seeds.len()];
        let other = &seeds[(case + 1) % seeds.len()];
        let bytes = mutate(&mut rng, seed, other);
        let result = constnet::data::idx::IdxReader::from_bytes(&bytes, Path::new("fuzz"))
            .and_then(|r| r.read_data(1 << 20));
        match result.map_err(Error::into_kind) {
            Ok(IdxArray { dims, data }) => assert_consistent(&dims, &data),
            Err(Error::Idx { .. } | Error::OutOfMemory { .. }) => errors += 1,
            Err(other) => panic!("case {case}: unexpected error {other}"),
        }
        let _ = parse_idx(&bytes[..], Path::new("fuzz"));
    }
    assert!(
        errors > cases() / 2,
        "the damage reaches the checks: {errors} errors"
    );
}

/// Regression: 115 of 550 single-bit flips in the real MNIST files read as "padded" (or
/// other length errors) instead of failing their checksum, because reading stopped before
/// the checksum. No flip may now read as other data or as a padded or truncated file.
#[test]
fn bit_flips_in_a_real_gzip_file_never_read_as_other_data_or_as_padding() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist/t10k-labels-idx1-ubyte.gz");
    let original = std::fs::read(&path).unwrap();
    let clean = constnet::data::idx::IdxReader::from_bytes(&original, &path)
        .unwrap()
        .read_data(1 << 20)
        .unwrap();
    let mut rng = StdRng::seed_from_u64(2);
    let flips = cases() / 3;
    let mut caught = 0;
    for _ in 0..flips {
        let mut bytes = original.clone();
        let i = rng.random_range(0..bytes.len());
        let bit = rng.random_range(0..8);
        bytes[i] ^= 1 << bit;
        match constnet::data::idx::IdxReader::from_bytes(&bytes, &path)
            .and_then(|r| r.read_data(1 << 20))
            .map_err(Error::into_kind)
        {
            Ok(read) => assert_eq!(read, clean, "byte {i} bit {bit} read as other data"),
            Err(Error::Idx { problem, .. }) => {
                assert!(
                    !matches!(
                        problem,
                        IdxProblem::TrailingBytes { .. } | IdxProblem::Truncated { .. }
                    ),
                    "byte {i} bit {bit}: {problem}"
                );
                caught += 1;
            }
            Err(other) => panic!("byte {i} bit {bit}: unexpected error {other}"),
        }
    }
    assert!(caught > flips * 9 / 10, "{caught} of {flips} flips caught");
}

#[test]
fn damaged_mnist_pairs_give_datasets_or_typed_errors() {
    let mut rng = StdRng::seed_from_u64(3);
    let pixels: Vec<u8> = (0..3 * 784).map(|i| (i % 251) as u8).collect();
    let images = encode_idx(&[3, 28, 28], &pixels).unwrap();
    let labels = encode_idx(&[3], &[4, 0, 9]).unwrap();
    let (images_gz, labels_gz) = (gzip(&images), gzip(&labels));
    for case in 0..cases() {
        let (a, b) = if case % 2 == 0 {
            (&images, &labels)
        } else {
            (&images_gz, &labels_gz)
        };
        let (a, b) = if case % 3 == 0 {
            (mutate(&mut rng, a, b), b.clone())
        } else {
            (a.clone(), mutate(&mut rng, b, a))
        };
        match mnist::parse_mnist(&a, &b, 10).map_err(Error::into_kind) {
            Ok(set) => {
                assert!(set.len() <= 10);
                assert!(set.targets().iter().all(|&l| l < 10));
            }
            Err(Error::Idx { .. } | Error::OutOfMemory { .. }) => {}
            Err(other) => panic!("case {case}: unexpected error {other}"),
        }
    }
}

#[test]
fn damaged_safetensors_files_give_weights_or_typed_errors() {
    let mut rng = StdRng::seed_from_u64(4);
    let mut net = Linear::<3, 4>::zeros()
        .then(Relu)
        .then(Linear::<4, 2>::zeros());
    let good = io::to_safetensors(&net).unwrap();
    let other = io::to_safetensors(&Linear::<3, 4, f64>::zeros()).unwrap();
    let mut loaded = 0;
    for case in 0..cases() {
        let bytes = mutate(&mut rng, &good, &other);
        if io::from_safetensors(&mut net, &bytes).is_ok() {
            loaded += 1;
            let mut finite = true;
            net.visit_params(&constnet::nn::Path::ROOT, &mut |p| {
                finite &= p.value.iter().all(|v| v.is_finite())
            });
            assert!(finite, "case {case}: non-finite weights were loaded");
        }
    }
    assert!(loaded < cases(), "the damage reaches the checks");
}
