//! The IDX format of the MNIST files: a big-endian header, then the elements.
//!
//! Layout: two zero bytes, an element-type code (`0x08` = unsigned byte), the number of
//! dimensions `d`, then `d` big-endian `u32` sizes, then the data in row-major order. Files
//! may be gzip-compressed; this is detected from the content, not the name.

use std::fs;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

use crate::Error;
use crate::error::IdxProblem;
use crate::fsutil::write_atomic;

/// The element-type code of unsigned bytes.
pub const UNSIGNED_BYTE: u8 = 0x08;

/// An IDX array of unsigned bytes: its dimensions and its elements in row-major order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// The size of each dimension, outermost first (e.g. `[60000, 28, 28]`).
    pub dims: Vec<usize>,
    /// The elements, `dims.iter().product()` of them.
    pub data: Vec<u8>,
}

fn problem(path: &Path, problem: IdxProblem) -> Error {
    Error::Idx {
        path: path.to_path_buf(),
        problem,
    }
}

/// An I/O error while decoding: a broken gzip stream is a problem of the file, anything else
/// is an I/O failure.
fn read_error(path: &Path, e: io::Error) -> Error {
    match e.kind() {
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof => {
            problem(
                path,
                IdxProblem::Corrupt {
                    message: e.to_string(),
                },
            )
        }
        _ => Error::Io {
            path: path.to_path_buf(),
            source: e,
        },
    }
}

/// Reads into `buf` until it is full or the input ends; returns how much was read.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8], path: &Path) -> Result<usize, Error> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(read_error(path, e)),
        }
    }
    Ok(filled)
}

/// Reads an IDX file of unsigned bytes, raw or gzip-compressed.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read; [`Error::Idx`] naming the file and the problem:
/// a broken gzip stream, a short header, a wrong magic number or element type, data shorter
/// or longer than the header announces. No input makes it panic, and it never allocates more
/// than the file really holds.
pub fn read_idx(path: &Path) -> Result<IdxArray, Error> {
    let file = fs::File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut buffered = BufReader::new(file);
    let head = buffered.fill_buf().map_err(|e| read_error(path, e))?;
    if head.starts_with(&[0x1f, 0x8b]) {
        parse_idx(GzDecoder::new(buffered), path)
    } else {
        parse_idx(buffered, path)
    }
}

/// Parses IDX bytes from `reader`; `path` only names the source in errors.
///
/// # Errors
/// As [`read_idx`].
pub fn parse_idx(mut reader: impl Read, path: &Path) -> Result<IdxArray, Error> {
    let mut magic = [0u8; 4];
    let got = read_up_to(&mut reader, &mut magic, path)?;
    if got < 4 {
        return Err(problem(
            path,
            IdxProblem::TruncatedHeader {
                expected: 4,
                found: got,
            },
        ));
    }
    if magic[0] != 0 || magic[1] != 0 {
        return Err(problem(path, IdxProblem::BadMagic { found: magic }));
    }
    if magic[2] != UNSIGNED_BYTE {
        return Err(problem(
            path,
            IdxProblem::WrongElementType {
                expected: UNSIGNED_BYTE,
                found: magic[2],
            },
        ));
    }
    let ndims = usize::from(magic[3]);
    let mut raw_dims = vec![0u8; 4 * ndims];
    let got = read_up_to(&mut reader, &mut raw_dims, path)?;
    if got < raw_dims.len() {
        return Err(problem(
            path,
            IdxProblem::TruncatedHeader {
                expected: 4 + 4 * ndims,
                found: 4 + got,
            },
        ));
    }
    let dims: Vec<usize> = raw_dims
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .collect();
    // Saturates rather than overflows: an absurd header then reads as truncated.
    let expected = dims.iter().fold(1u64, |n, &d| n.saturating_mul(d as u64));
    // Never more than the header announces plus one byte (to detect padding), and never
    // more than the input really holds: a lying header cannot make us allocate.
    let mut data = Vec::new();
    reader
        .take(expected.saturating_add(1))
        .read_to_end(&mut data)
        .map_err(|e| read_error(path, e))?;
    let found = data.len() as u64;
    if found < expected {
        return Err(problem(path, IdxProblem::Truncated { expected, found }));
    }
    if found > expected {
        return Err(problem(path, IdxProblem::TrailingBytes { expected }));
    }
    Ok(IdxArray { dims, data })
}

/// Encodes an IDX array of unsigned bytes (the inverse of [`parse_idx`]).
///
/// # Errors
/// [`Error::LengthMismatch`] if `data` does not hold the product of `dims` elements, or a
/// dimension does not fit in 32 bits or there are more than 255 of them.
pub fn encode_idx(dims: &[usize], data: &[u8]) -> Result<Vec<u8>, Error> {
    let count: usize = dims.iter().product();
    if count != data.len() {
        return Err(Error::LengthMismatch {
            what: "IDX elements (the product of the dimensions)",
            expected: count,
            found: data.len(),
        });
    }
    let ndims = u8::try_from(dims.len()).map_err(|_| Error::LengthMismatch {
        what: "IDX dimensions at most",
        expected: 255,
        found: dims.len(),
    })?;
    let mut out = vec![0, 0, UNSIGNED_BYTE, ndims];
    for &d in dims {
        let d = u32::try_from(d).map_err(|_| Error::LengthMismatch {
            what: "elements per IDX dimension at most",
            expected: u32::MAX as usize,
            found: d,
        })?;
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    Ok(out)
}

/// Writes an IDX array of unsigned bytes atomically, gzip-compressed when the file name
/// ends in `.gz`.
///
/// # Errors
/// As [`encode_idx`], and [`Error::Io`] if the file cannot be written.
pub fn write_idx(path: &Path, dims: &[usize], data: &[u8]) -> Result<(), Error> {
    let raw = encode_idx(dims, data)?;
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let bytes = if path.extension().is_some_and(|e| e == "gz") {
        let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
        io::Write::write_all(&mut gz, &raw).map_err(io)?;
        gz.finish().map_err(io)?
    } else {
        raw
    };
    write_atomic(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fsutil::test_dir;
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    fn parse(bytes: &[u8]) -> Result<IdxArray, Error> {
        parse_idx(bytes, Path::new("test.idx"))
    }

    fn idx_problem(bytes: &[u8]) -> IdxProblem {
        match parse(bytes) {
            Err(Error::Idx { problem, .. }) => problem,
            other => panic!("expected an IDX problem, got {other:?}"),
        }
    }

    #[test]
    fn round_trip_raw_and_gzip() {
        let dir = test_dir("idx-round-trip");
        let data: Vec<u8> = (0..2 * 3 * 4).map(|i| i as u8).collect();
        for name in ["a.idx", "a.idx.gz"] {
            let path = dir.join(name);
            write_idx(&path, &[2, 3, 4], &data).unwrap();
            let read = read_idx(&path).unwrap();
            assert_eq!(read.dims, vec![2, 3, 4]);
            assert_eq!(read.data, data);
        }
        let gz = fs::read(dir.join("a.idx.gz")).unwrap();
        assert_eq!(&gz[..2], &[0x1f, 0x8b], "written compressed");
    }

    #[test]
    fn truncated_and_padded_files_are_rejected() {
        let good = encode_idx(&[3, 2], &[1, 2, 3, 4, 5, 6]).unwrap();
        assert_eq!(
            idx_problem(&good[..good.len() - 1]),
            IdxProblem::Truncated {
                expected: 6,
                found: 5
            }
        );
        let mut padded = good.clone();
        padded.push(0);
        assert_eq!(
            idx_problem(&padded),
            IdxProblem::TrailingBytes { expected: 6 }
        );
        assert_eq!(
            idx_problem(&good[..6]),
            IdxProblem::TruncatedHeader {
                expected: 12,
                found: 6
            }
        );
        assert_eq!(
            idx_problem(&good[..2]),
            IdxProblem::TruncatedHeader {
                expected: 4,
                found: 2
            }
        );
        assert!(parse(&good).is_ok());
    }

    #[test]
    fn wrong_magic_and_element_type_are_rejected() {
        let mut bytes = encode_idx(&[1], &[7]).unwrap();
        bytes[0] = 0x50;
        assert!(matches!(idx_problem(&bytes), IdxProblem::BadMagic { .. }));
        let mut bytes = encode_idx(&[1], &[7]).unwrap();
        bytes[2] = 0x0d;
        assert_eq!(
            idx_problem(&bytes),
            IdxProblem::WrongElementType {
                expected: 0x08,
                found: 0x0d
            }
        );
    }

    #[test]
    fn a_lying_header_does_not_allocate_its_claim() {
        // Claims 4 × 4 Gi − 1 bytes, holds 3.
        let bytes = [0, 0, 8, 2, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 4, 1, 2, 3];
        assert!(matches!(
            idx_problem(&bytes),
            IdxProblem::Truncated { found: 3, .. }
        ));
        // No dimensions: a single element.
        let zero_dims = [0, 0, 8, 0, 42, 43];
        assert_eq!(
            idx_problem(&zero_dims),
            IdxProblem::TrailingBytes { expected: 1 }
        );
    }

    #[test]
    fn random_bytes_give_errors_not_panics() {
        let dir = test_dir("idx-random");
        let mut rng = StdRng::seed_from_u64(99);
        for case in 0..500 {
            let len = rng.random_range(0..64);
            let mut bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            if case % 3 == 0 && bytes.len() >= 4 {
                // Plausible headers reach the deeper checks.
                bytes[0] = 0;
                bytes[1] = 0;
                bytes[2] = 8;
                bytes[3] %= 4;
            }
            let _ = parse(&bytes);
            // As a file with a gzip signature in front of random bytes.
            let mut gz = vec![0x1f, 0x8b];
            gz.extend_from_slice(&bytes);
            let path = dir.join("random.gz");
            fs::write(&path, &gz).unwrap();
            assert!(read_idx(&path).is_err());
        }
    }

    #[test]
    fn a_missing_file_is_an_io_error_naming_it() {
        let err = read_idx(Path::new("/no/such/file.idx")).unwrap_err();
        assert!(matches!(err, Error::Io { .. }));
        assert!(err.to_string().contains("/no/such/file.idx"));
    }
}
