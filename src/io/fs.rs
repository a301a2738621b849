//! Files: atomic writes, and bounded reads of regular files.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::Error;

/// The suffix of the temporary files that [`write_atomic`] creates beside their target:
/// `.NAME.PID-COUNTER-NONCE.constnet-tmp`.
const TMP_SUFFIX: &str = ".constnet-tmp";

/// Tells temporary files of one process apart, also between its threads.
static COUNTER: AtomicU64 = AtomicU64::new(0);

fn io_error(path: &Path, source: io::Error) -> Error {
    Error::Io { source }.at(path)
}

/// An I/O error on the temporary file, reported on the user's path with the temporary
/// file named in the message.
fn tmp_error(path: &Path, tmp: &Path, e: io::Error) -> Error {
    let message = format!("{e} (writing the temporary file {})", tmp.display());
    io_error(path, io::Error::new(e.kind(), message))
}

fn split_path(path: &Path) -> (PathBuf, String) {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    (dir, name)
}

/// A temporary file beside `name` in `dir`, created exclusively (`O_CREAT | O_EXCL`): it is
/// new, so no other writer shares it and a symbolic link planted at its name is refused,
/// never followed. It is locked (an advisory lock, held until the handle is dropped), which
/// tells other savers that it is live.
fn create_temporary(dir: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(
            ".{name}.{}-{n}-{nanos:08x}{TMP_SUFFIX}",
            std::process::id()
        ));
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(file) => {
                // Where the file system has no locks, the file is still written; others then
                // never remove it (they cannot know it is stale).
                let _ = file.lock();
                return Ok((tmp, file));
            }
            // Left by another process with our pid and counter: take the next name.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Temporaries younger than this are never removed: a writer locks its file right after
/// creating it, and this leaves the moment in between alone.
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(60);

/// Removes temporary files of `name` left in `dir` by savers that are gone (a process killed
/// while saving). Only files of this library's naming pattern are touched, and only when
/// nobody holds their lock (a live writer holds it for as long as it writes, in any process
/// or PID namespace) and they are older than [`STALE_AFTER`]; a file whose lock cannot be
/// tried is kept.
fn remove_stale_temporaries(dir: &Path, name: &str) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let prefix = format!(".{name}.");
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(rest) = file_name
            .to_str()
            .and_then(|f| f.strip_prefix(&prefix))
            .and_then(|f| f.strip_suffix(TMP_SUFFIX))
        else {
            continue;
        };
        let mut fields = rest.split('-');
        let (Some(pid), Some(counter), Some(nonce), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let well_formed = pid.parse::<u32>().is_ok()
            && counter.parse::<u64>().is_ok()
            && u32::from_str_radix(nonce, 16).is_ok();
        if !well_formed {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_AFTER);
        if !old {
            continue;
        }
        // Held while we remove it, so that it cannot come alive in between.
        let Ok(file) = File::options().write(true).open(entry.path()) else {
            continue;
        };
        if file.try_lock().is_ok() {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Writes `bytes` to `path` atomically: to a new temporary file beside it (created
/// exclusively, with a name no other writer uses), flushed to disk, renamed over `path`,
/// and the directory flushed. A reader sees the old file or the new one, never a part of
/// either; a failed write leaves the old file as it was; several threads or processes may
/// save to one path at once (the last rename wins). Each writer holds a lock on its temporary
/// file until it is in place; temporary files left behind by a process that was killed while
/// saving (their lock released by the system) are removed by the next save to the same path,
/// once older than a minute. A live writer's file is never removed, whatever process or PID
/// namespace it runs in.
///
/// A destination that exists and is not a regular file (a device, a FIFO) is refused and
/// left as it is: a save never replaces `/dev/null` with a file.
///
/// # Errors
/// [`Error::Io`] naming `path` (and, in the message, the temporary file) if the file cannot
/// be written or renamed; [`Error::NotARegularFile`] for a device or a FIFO.
///
/// # Example
/// ```
/// let path = std::env::temp_dir().join("constnet-doc-atomic.txt");
/// constnet::io::write_atomic(&path, b"hello")?;
/// assert_eq!(std::fs::read(&path).unwrap(), b"hello");
/// # Ok::<(), constnet::Error>(())
/// ```
pub fn write_atomic(path: impl AsRef<Path>, bytes: &[u8]) -> Result<(), Error> {
    let path = path.as_ref();
    refuse_non_regular(path)?;
    let (dir, name) = split_path(path);
    remove_stale_temporaries(&dir, &name);
    let (tmp, mut file) = create_temporary(&dir, &name).map_err(|e| io_error(path, e))?;
    let result = (|| {
        file.write_all(bytes)
            .map_err(|e| tmp_error(path, &tmp, e))?;
        file.sync_all().map_err(|e| tmp_error(path, &tmp, e))?;
        // Renamed while still open and locked: live until it is in place.
        fs::rename(&tmp, path).map_err(|e| io_error(path, e))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
        return result;
    }
    // Makes the rename itself durable. Some file systems cannot sync a directory; the new
    // file is in place either way, so that is not reported as a failure.
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Checks, before any long work, that `path` can later be written by [`write_atomic`]: its
/// folder exists and takes new files, and `path` is not a folder. Creates and removes one
/// temporary file; `path` itself is not touched.
///
/// # Errors
/// [`Error::Io`] naming `path` and what the operating system said.
///
/// # Example
/// ```
/// assert!(constnet::io::check_writable("/nonexistent-constnet-dir/out.csv").is_err());
/// assert!(constnet::io::check_writable(&std::env::temp_dir().join("out.csv")).is_ok());
/// ```
pub fn check_writable(path: impl AsRef<Path>) -> Result<(), Error> {
    let path = path.as_ref();
    if path.is_dir() {
        return Err(io_error(
            path,
            io::Error::new(io::ErrorKind::IsADirectory, "is a folder, not a file"),
        ));
    }
    refuse_non_regular(path)?;
    let (dir, name) = split_path(path);
    let (tmp, file) = create_temporary(&dir, &name).map_err(|e| io_error(path, e))?;
    drop(file);
    fs::remove_file(&tmp).map_err(|e| tmp_error(path, &tmp, e))
}

/// Reads a whole regular file of at most `limit` bytes.
///
/// Devices, pipes and folders are refused before anything is read, and no more than
/// `limit + 1` bytes are ever read, so `/dev/zero` or a huge file cannot exhaust memory.
///
/// # Errors
/// [`Error::Io`] if the file cannot be opened or read; [`Error::NotARegularFile`];
/// [`Error::FileTooLarge`] if it holds more than `limit` bytes; [`Error::OutOfMemory`] if
/// the buffer cannot be allocated.
#[cfg(any(feature = "safetensors", feature = "csv"))]
pub(crate) fn read_regular_file(path: &Path, limit: u64) -> Result<Vec<u8>, Error> {
    let file = open_regular_file(path)?;
    let len = file.metadata().map_err(|e| io_error(path, e))?.len();
    if len > limit {
        return Err(Error::FileTooLarge { limit }.at(path));
    }
    let mut bytes = Vec::new();
    try_reserve(&mut bytes, len as usize, "the file's bytes")?;
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(path, e))?;
    if bytes.len() as u64 > limit {
        return Err(Error::FileTooLarge { limit }.at(path));
    }
    Ok(bytes)
}

/// Opens `path` for reading if it is a regular file (after following links).
///
/// # Errors
/// [`Error::Io`] if it cannot be opened; [`Error::NotARegularFile`] for a device, a pipe
/// or a folder.
pub(crate) fn open_regular_file(path: &Path) -> Result<File, Error> {
    // Checked before opening, because opening a FIFO waits for a writer; and after, on the
    // handle, in case the path changed in between.
    refuse_non_regular(path)?;
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    let meta = file.metadata().map_err(|e| io_error(path, e))?;
    if !meta.is_file() {
        return Err(Error::NotARegularFile.at(path));
    }
    Ok(file)
}

/// [`Error::NotARegularFile`] if `path` exists (after following links) and is not a regular
/// file; nothing if it is one or does not exist. Reads the file's metadata only: never opens it.
fn refuse_non_regular(path: &Path) -> Result<(), Error> {
    match fs::metadata(path) {
        Ok(meta) if !meta.is_file() => Err(Error::NotARegularFile.at(path)),
        _ => Ok(()),
    }
}

/// Reserves room for `additional` more elements, as an error rather than an abort when the
/// memory is not there.
pub(crate) fn try_reserve<T>(
    v: &mut Vec<T>,
    additional: usize,
    what: &'static str,
) -> Result<(), Error> {
    v.try_reserve_exact(additional)
        .map_err(|_| Error::OutOfMemory {
            what,
            bytes: additional.saturating_mul(size_of::<T>()),
        })
}

#[cfg(test)]
pub(crate) fn test_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("constnet-{}-{name}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    dir
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let dir = test_dir("atomic");
        let path = dir.join("out.bin");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        assert_eq!(names(&dir), ["out.bin"]);
    }

    #[test]
    fn a_failed_write_names_the_path() {
        let path = Path::new("/nonexistent-dir-constnet/out.bin");
        let err = write_atomic(path, b"x").unwrap_err();
        assert!(
            err.to_string().contains("nonexistent-dir-constnet/out.bin"),
            "{err}"
        );
    }

    /// Regression: the temporary name was `.NAME.tmp-PID`, shared by all threads of a
    /// process, so two threads saving one path made each other fail (254 of 600 saves).
    #[test]
    fn threads_saving_one_path_at_once_all_succeed_and_readers_see_whole_files() {
        let dir = test_dir("atomic-threads");
        let path = dir.join("shared.bin");
        let contents: Vec<Vec<u8>> = (0..2u8).map(|t| vec![t; 64 * 1024]).collect();
        write_atomic(&path, &contents[0]).unwrap();
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            let writers: Vec<_> = contents
                .iter()
                .map(|c| s.spawn(|| (0..300).filter(|_| write_atomic(&path, c).is_err()).count()))
                .collect();
            let reader = s.spawn(|| {
                let mut reads = 0;
                while !stop.load(Ordering::Relaxed) {
                    let bytes = fs::read(&path).unwrap();
                    assert!(contents.contains(&bytes), "a partial file was read");
                    reads += 1;
                }
                reads
            });
            let failures: usize = writers.into_iter().map(|w| w.join().unwrap()).sum();
            stop.store(true, Ordering::Relaxed);
            assert!(reader.join().unwrap() > 0);
            assert_eq!(failures, 0, "failed saves");
        });
        assert_eq!(names(&dir), ["shared.bin"]);
    }

    /// Regression: the temporary file was opened without `O_EXCL` at a predictable name, so
    /// a link planted there made the save write through it into another file.
    #[cfg(unix)]
    #[test]
    fn a_link_planted_at_a_temporary_name_is_never_written_through() {
        let dir = test_dir("atomic-link");
        let victim = dir.join("victim.txt");
        fs::write(&victim, b"precious").unwrap();
        let path = dir.join("out.bin");
        let pid = std::process::id();
        std::os::unix::fs::symlink(&victim, dir.join(format!(".out.bin.tmp-{pid}"))).unwrap();
        // Plant links at the next names this process would choose, too.
        let next = COUNTER.load(Ordering::Relaxed);
        for n in next..next + 8 {
            for nanos in [0u32, 1] {
                let name = format!(".out.bin.{pid}-{n}-{nanos:08x}{TMP_SUFFIX}");
                std::os::unix::fs::symlink(&victim, dir.join(name)).unwrap();
            }
        }
        write_atomic(&path, b"new").unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        assert_eq!(fs::read(&path).unwrap(), b"new");
    }

    /// Regression (issue 20, item 6): liveness was guessed from `/proc/PID`, so a saver in
    /// another PID namespace (or with `/proc` hidden) deleted the live temporaries of others
    /// (54 of 200 saves failed across namespaces). A writer now holds a lock on its temporary
    /// file while it writes; a temporary is removed only when nobody holds its lock and it is
    /// older than a minute, whatever its pid says.
    #[test]
    fn only_temporaries_that_nobody_holds_are_removed() {
        let dir = test_dir("atomic-stale");
        let path = dir.join("model.bin");
        let old = SystemTime::now() - std::time::Duration::from_secs(3600);
        let temporary = |pid: u32, n: u32| format!(".model.bin.{pid}-{n}-0000abcd{TMP_SUFFIX}");
        // pid 4194305 is above Linux's largest pid: it looks dead from this namespace.
        let (stale, held, fresh) = (
            temporary(4194305, 1),
            temporary(4194305, 2),
            temporary(7, 3),
        );
        let foreign = ".model.bin.4194305-tmp".to_string();
        for name in [&stale, &held, &fresh, &foreign] {
            fs::write(dir.join(name), b"x").unwrap();
        }
        for name in [&stale, &held] {
            File::options()
                .write(true)
                .open(dir.join(name))
                .unwrap()
                .set_modified(old)
                .unwrap();
        }
        // A writer in another namespace, still writing: it holds the lock.
        let writer = File::options().write(true).open(dir.join(&held)).unwrap();
        writer.lock().unwrap();
        write_atomic(&path, b"data").unwrap();
        let mut expected = vec![foreign, held, fresh, "model.bin".to_string()];
        expected.sort();
        assert_eq!(names(&dir), expected, "only the stale temporary is gone");
        drop(writer);
    }

    #[test]
    fn destinations_are_checked_without_touching_them() {
        let dir = test_dir("writable");
        assert!(check_writable(dir.join("new.csv")).is_ok());
        assert_eq!(names(&dir), Vec::<String>::new());
        let err = check_writable(&dir).unwrap_err();
        assert!(err.to_string().contains("folder"), "{err}");
        let err = check_writable(dir.join("missing/out.csv")).unwrap_err();
        assert!(err.to_string().contains("missing/out.csv"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn reads_refuse_devices_and_files_over_the_limit() {
        let err = read_regular_file(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert!(matches!(err.kind(), Error::NotARegularFile), "{err}");
        let dir = test_dir("bounded-read");
        let path = dir.join("ten.bin");
        fs::write(&path, [7u8; 10]).unwrap();
        assert_eq!(read_regular_file(&path, 10).unwrap(), [7u8; 10]);
        let err = read_regular_file(&path, 9).unwrap_err();
        assert!(
            matches!(err.kind(), Error::FileTooLarge { limit: 9, .. }),
            "{err}"
        );
    }

    /// A FIFO at `path`, made with `mkfifo` (from coreutils).
    fn fifo(path: &Path) {
        let _ = fs::remove_file(path);
        let made = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .unwrap();
        assert!(made.success());
        assert!(!path.metadata().unwrap().is_file());
    }

    /// Regression (issue 20, item 1): `open()` of a FIFO blocks until a writer comes, so
    /// every reader hung on one. It is refused before it is opened.
    #[test]
    fn a_fifo_is_refused_without_waiting_for_a_writer() {
        let path = test_dir("fifo-read").join("pipe");
        fifo(&path);
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = path.clone();
        std::thread::spawn(move || {
            let _ = tx.send(read_regular_file(&reader, 1 << 20).map(|_| ()));
        });
        let result = rx.recv_timeout(std::time::Duration::from_secs(5));
        let err = result.expect("the read returned at once").unwrap_err();
        assert!(matches!(err.kind(), Error::NotARegularFile), "{err}");
        assert_eq!(err.path(), Some(path.as_path()));
    }

    /// Regression (issue 20, item 5): a save renamed its temporary file over a FIFO (or a
    /// device) and replaced it with a regular file. A destination that exists and is not a
    /// regular file is refused, and left as it is; `check_writable` refuses it too.
    #[test]
    fn a_save_never_replaces_a_fifo_or_a_device() {
        let path = test_dir("fifo-write").join("pipe");
        fifo(&path);
        let err = write_atomic(&path, b"weights").unwrap_err();
        assert!(matches!(err.kind(), Error::NotARegularFile), "{err}");
        assert!(
            !path.metadata().unwrap().is_file(),
            "the FIFO is still there"
        );
        let err = check_writable(&path).unwrap_err();
        assert!(matches!(err.kind(), Error::NotARegularFile), "{err}");
        // A regular file is still replaced, and a new one made.
        let file = test_dir("fifo-write").join("plain");
        write_atomic(&file, b"old").unwrap();
        write_atomic(&file, b"new").unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"new");
    }
}
