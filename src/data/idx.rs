//! The IDX format of the MNIST files: a big-endian header, then the elements.
//!
//! Layout: two zero bytes, an element-type code (`0x08` = unsigned byte), the number of
//! dimensions `d`, then `d` big-endian `u32` sizes, then the data in row-major order. Files
//! may be gzip-compressed (one member or several); this is detected from the content, not
//! the name.

use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;

use crate::error::Error;
use crate::error::IdxProblem;
use crate::io::fs::{open_regular_file, try_reserve, write_atomic};

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
    Error::Idx { problem }.at(path)
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

/// The default limit on the data bytes of one IDX file: 256 MiB, five times MNIST's
/// largest file (47 MB of training images).
pub const DEFAULT_LIMIT: u64 = 256 << 20;

/// Bytes that are not a gzip member follow the last member of a compressed file.
#[derive(Debug)]
struct TrailingGarbage;

impl std::fmt::Display for TrailingGarbage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("bytes that are not gzip data follow the compressed stream")
    }
}

impl std::error::Error for TrailingGarbage {}

/// The decompressed bytes of every gzip member of `inner`, one after the other (as
/// `gzip -d` reads `cat a.gz b.gz`). Each member's checksum is verified when its end is
/// read; anything after the last member that is not another member is an error.
struct GzMembers<R: BufRead> {
    decoder: Option<flate2::bufread::GzDecoder<R>>,
}

impl<R: BufRead> GzMembers<R> {
    fn new(inner: R) -> Self {
        GzMembers {
            decoder: Some(flate2::bufread::GzDecoder::new(inner)),
        }
    }
}

impl<R: BufRead> Read for GzMembers<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let Some(decoder) = self.decoder.as_mut() else {
                return Ok(0);
            };
            let n = decoder.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            // This member ended, its checksum verified: another member, or the end.
            let mut inner = self.decoder.take().expect("checked above").into_inner();
            let rest = inner.fill_buf()?;
            if rest.is_empty() {
                return Ok(0);
            }
            if !rest.starts_with(&[0x1f, 0x8b]) {
                return Err(io::Error::new(io::ErrorKind::InvalidData, TrailingGarbage));
            }
            self.decoder = Some(flate2::bufread::GzDecoder::new(inner));
        }
    }
}

/// An I/O error while decoding: a broken gzip stream is a problem of the file, anything else
/// is an I/O failure.
fn read_error(path: &Path, e: io::Error) -> Error {
    if e.get_ref()
        .is_some_and(|inner| inner.is::<TrailingGarbage>())
    {
        return problem(path, IdxProblem::TrailingGarbage);
    }
    match e.kind() {
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof => {
            problem(
                path,
                IdxProblem::Corrupt {
                    message: e.to_string(),
                },
            )
        }
        _ => Error::Io { source: e }.at(path),
    }
}

/// An IDX file whose header has been read and whose data has not.
pub struct IdxReader<'a> {
    path: PathBuf,
    dims: Vec<usize>,
    reader: Box<dyn Read + 'a>,
}

impl std::fmt::Debug for IdxReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdxReader")
            .field("path", &self.path)
            .field("dims", &self.dims)
            .finish_non_exhaustive()
    }
}

impl<'a> IdxReader<'a> {
    /// Opens an IDX file of unsigned bytes, raw or gzip-compressed (one member or several),
    /// and reads its header only, so that its dimensions can be checked before its data is
    /// decoded.
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be opened; [`Error::NotARegularFile`]; the header
    /// problems of [`parse_idx`].
    pub fn open(path: impl AsRef<Path>) -> Result<IdxReader<'static>, Error> {
        let path = path.as_ref();
        let file = open_regular_file(path)?;
        let mut buffered = BufReader::new(file);
        let head = buffered.fill_buf().map_err(|e| read_error(path, e))?;
        let reader: Box<dyn Read> = if head.starts_with(&[0x1f, 0x8b]) {
            Box::new(GzMembers::new(buffered))
        } else {
            Box::new(buffered)
        };
        IdxReader::new(reader, path)
    }

    /// Reads the header of IDX bytes in memory, raw or gzip-compressed (detected from the
    /// content); `path` only names the source in errors.
    ///
    /// # Errors
    /// The header problems of [`parse_idx`].
    pub fn from_bytes(bytes: &'a [u8], path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        if bytes.starts_with(&[0x1f, 0x8b]) {
            IdxReader::new(GzMembers::new(bytes), path)
        } else {
            IdxReader::new(bytes, path)
        }
    }

    /// Reads the header from `reader`; `path` only names the source in errors.
    ///
    /// # Errors
    /// The header problems of [`parse_idx`].
    pub fn new(mut reader: impl Read + 'a, path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
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
        let mut raw_dims = [0u8; 4 * 255];
        let raw_dims = &mut raw_dims[..4 * ndims];
        let got = read_up_to(&mut reader, raw_dims, path)?;
        if got < raw_dims.len() {
            return Err(problem(
                path,
                IdxProblem::TruncatedHeader {
                    expected: 4 + 4 * ndims,
                    found: 4 + got,
                },
            ));
        }
        let dims = raw_dims
            .chunks_exact(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .collect();
        Ok(IdxReader {
            path: path.to_path_buf(),
            dims,
            reader: Box::new(reader),
        })
    }

    /// The path that names the source in errors.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The dimensions in the header, outermost first.
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }

    /// The number of data bytes the header announces (saturating at `u64::MAX`).
    pub fn data_len(&self) -> u64 {
        self.dims
            .iter()
            .fold(1u64, |n, &d| n.saturating_mul(d as u64))
    }

    /// Reads the data, refusing before decoding any of it if the header announces more than
    /// `limit` bytes. The input is read to its end, so that a compressed file's checksum is
    /// verified before anything is returned.
    ///
    /// # Errors
    /// The data problems of [`parse_idx`]; [`IdxProblem::TooLarge`] beyond `limit`;
    /// [`Error::OutOfMemory`] if the data cannot be allocated.
    pub fn read_data(mut self, limit: u64) -> Result<IdxArray, Error> {
        let path = self.path.as_path();
        let expected = self.data_len();
        if expected > limit {
            return Err(problem(
                path,
                IdxProblem::TooLarge {
                    bytes: expected,
                    limit,
                },
            ));
        }
        // Grown a chunk at a time, so that a header claiming more than the file holds costs
        // no more memory than the file really holds.
        let mut data = Vec::new();
        while (data.len() as u64) < expected {
            let chunk = (expected - data.len() as u64).min(1 << 20);
            try_reserve(&mut data, chunk as usize, "the IDX data")?;
            let got = (&mut self.reader)
                .take(chunk)
                .read_to_end(&mut data)
                .map_err(|e| read_error(path, e))?;
            if got == 0 {
                break;
            }
        }
        let found = data.len() as u64;
        if found < expected {
            return Err(problem(path, IdxProblem::Truncated { expected, found }));
        }
        // Read what follows to the end (keeping none of it, and no more than `limit` bytes)
        // so that a damaged file is reported as such, not as padded.
        let mut extra = 0u64;
        let mut scratch = [0u8; 8192];
        while extra <= limit {
            match self.reader.read(&mut scratch) {
                Ok(0) => break,
                Ok(n) => extra += n as u64,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(read_error(path, e)),
            }
        }
        if extra > 0 {
            return Err(problem(path, IdxProblem::TrailingBytes { expected }));
        }
        Ok(IdxArray {
            dims: self.dims,
            data,
        })
    }
}

/// Reads an IDX file of unsigned bytes, raw or gzip-compressed, of at most
/// [`DEFAULT_LIMIT`] data bytes.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read; [`Error::NotARegularFile`]; [`Error::Idx`]
/// naming the file and the problem: a broken gzip stream or checksum, bytes after the
/// compressed stream, a short header, a wrong magic number or element type, data shorter or
/// longer than the header announces, more data than the limit. No input makes it panic, and
/// it never allocates more than the limit.
pub fn read_idx(path: impl AsRef<Path>) -> Result<IdxArray, Error> {
    let path = path.as_ref();
    read_idx_limited(path, DEFAULT_LIMIT)
}

/// [`read_idx`] with a limit of `limit` data bytes.
///
/// # Errors
/// As [`read_idx`].
pub fn read_idx_limited(path: impl AsRef<Path>, limit: u64) -> Result<IdxArray, Error> {
    let path = path.as_ref();
    IdxReader::open(path)?.read_data(limit)
}

/// Parses IDX bytes from `reader` (of at most [`DEFAULT_LIMIT`] data bytes); `path` only
/// names the source in errors.
///
/// # Errors
/// [`Error::Idx`] for a short header, a wrong magic number or element type, data shorter or
/// longer than the header announces, or more than the limit; [`Error::Io`] if reading fails.
pub fn parse_idx(reader: impl Read, path: impl AsRef<Path>) -> Result<IdxArray, Error> {
    let path = path.as_ref();
    IdxReader::new(reader, path)?.read_data(DEFAULT_LIMIT)
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
pub fn write_idx(path: impl AsRef<Path>, dims: &[usize], data: &[u8]) -> Result<(), Error> {
    let path = path.as_ref();
    let raw = encode_idx(dims, data)?;
    let io = |source| Error::Io { source }.at(path);
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
    use crate::io::fs::test_dir;
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};
    use std::fs;

    fn parse(bytes: &[u8]) -> Result<IdxArray, Error> {
        parse_idx(bytes, Path::new("test.idx"))
    }

    fn idx_problem(bytes: &[u8]) -> IdxProblem {
        match parse(bytes).map_err(Error::into_kind) {
            Err(Error::Idx { problem }) => problem,
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
        // Claims 4 × 4 Gi − 1 bytes, beyond the limit.
        let bytes = [0, 0, 8, 2, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 4, 1, 2, 3];
        assert!(matches!(idx_problem(&bytes), IdxProblem::TooLarge { .. }));
        // Claims 200 MiB, within the limit, holds 3.
        let bytes = [0, 0, 8, 2, 0, 0, 0x32, 0, 0, 0, 0x10, 0, 1, 2, 3];
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

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
        io::Write::write_all(&mut gz, bytes).unwrap();
        gz.finish().unwrap()
    }

    fn read_bytes(name: &str, bytes: &[u8]) -> Result<IdxArray, Error> {
        let path = test_dir("idx-gzip").join(name);
        fs::write(&path, bytes).unwrap();
        read_idx(&path)
    }

    fn file_problem(name: &str, bytes: &[u8]) -> IdxProblem {
        match read_bytes(name, bytes).map_err(Error::into_kind) {
            Err(Error::Idx { problem }) => problem,
            other => panic!("expected an IDX problem, got {other:?}"),
        }
    }

    /// Regression: junk after the gzip member was ignored (the file read as valid).
    #[test]
    fn junk_after_the_compressed_stream_is_its_own_error() {
        let raw = encode_idx(&[4, 3], &[9; 12]).unwrap();
        let mut junk = gzip(&raw);
        junk.extend_from_slice(b"junk");
        assert_eq!(file_problem("junk.gz", &junk), IdxProblem::TrailingGarbage);
    }

    /// Regression: `cat a.gz b.gz`, valid for gzip, was rejected as truncated.
    #[test]
    fn several_gzip_members_are_read_as_one_stream() {
        let data: Vec<u8> = (0..12).collect();
        let raw = encode_idx(&[4, 3], &data).unwrap();
        let mut members = gzip(&raw[..10]);
        members.extend(gzip(&raw[10..15]));
        members.extend(gzip(&raw[15..]));
        let read = read_bytes("members.gz", &members).unwrap();
        assert_eq!((read.dims, read.data), (vec![4, 3], data));
    }

    /// Regression: a damaged file whose data came out longer than announced was reported as
    /// padded, because reading stopped before the checksum.
    #[test]
    fn the_checksum_is_verified_before_the_length_is_judged() {
        let mut padded = encode_idx(&[2], &[1, 2]).unwrap();
        padded.push(3);
        let mut gz = gzip(&padded);
        let n = gz.len();
        gz[n - 8] ^= 1; // the CRC-32 of the member
        assert!(matches!(
            file_problem("crc.gz", &gz),
            IdxProblem::Corrupt { .. }
        ));
        // Without the damage, the padding is reported.
        assert_eq!(
            file_problem("padded.gz", &gzip(&padded)),
            IdxProblem::TrailingBytes { expected: 2 }
        );
    }

    /// Regression: a small file claiming more than memory holds was decoded until memory ran
    /// out; the claim is now refused from the header.
    #[test]
    fn data_beyond_the_limit_is_refused_before_decoding() {
        let header = [0, 0, 8, 2, 0x00, 0x10, 0, 0, 0x00, 0x10, 0, 0]; // 2^20 × 2^20
        assert_eq!(
            file_problem("huge.gz", &gzip(&header)),
            IdxProblem::TooLarge {
                bytes: 1 << 40,
                limit: DEFAULT_LIMIT
            }
        );
        let path = test_dir("idx-limit").join("small.idx");
        write_idx(&path, &[10], &[0; 10]).unwrap();
        assert!(read_idx_limited(&path, 10).is_ok());
        assert!(matches!(
            read_idx_limited(&path, 9).map_err(Error::into_kind),
            Err(Error::Idx {
                problem: IdxProblem::TooLarge {
                    bytes: 10,
                    limit: 9
                },
                ..
            })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn devices_are_refused() {
        let err = read_idx(Path::new("/dev/zero")).unwrap_err();
        assert!(matches!(err.kind(), Error::NotARegularFile), "{err}");
    }

    #[test]
    fn a_missing_file_is_an_io_error_naming_it() {
        let err = read_idx(Path::new("/no/such/file.idx")).unwrap_err();
        assert!(matches!(err.kind(), Error::Io { .. }));
        assert!(err.to_string().contains("/no/such/file.idx"));
    }
}
