//! What a weights file says about itself ([`Metadata`]): written by every save of this crate
//! into the safetensors header's `__metadata__`, read back with one call
//! ([`read_metadata`]), and used by the loaders to say which layer differs when a file is of
//! another network.

use std::collections::BTreeMap;
use std::path::Path as FilePath;

use crate::error::WeightsProblem;
use crate::io::fs::open_regular_file;
use crate::nn::layer::LayerInfo;
use crate::nn::param::Path;
use crate::{base::scalar::Scalar, error::Error, nn::layer::Layer};

/// The keys this crate writes; user entries may not use the `constnet.` prefix.
pub(crate) const VERSION: &str = "constnet.version";
pub(crate) const SCALAR: &str = "constnet.scalar";
pub(crate) const LAYERS: &str = "constnet.layers";

/// The largest header read by [`read_metadata`]: the metadata lives in the header, before the
/// tensors' bytes, so a file of any size is read this far at most.
const HEADER_LIMIT: u64 = 16 << 20;

/// A weights file's description of itself: which version of constnet wrote it, the scalar
/// type, one line per layer of the network's summary, and the entries a program added
/// ([`save_safetensors_described`](crate::io::save_safetensors_described): class names,
/// feature names, the settings that built the network). Files from PyTorch or older versions
/// have no constnet entries: the fields are then empty.
///
/// # Example
/// ```
/// use constnet::{io, nn::{Layer, Linear, Relu}};
/// let net = Linear::<4, 8>::zeros().then(Relu).then(Linear::<8, 3>::zeros());
/// let path = std::env::temp_dir().join("constnet-doc-metadata.safetensors");
/// io::save_safetensors_described(&net, &[], &[("classes", "setosa,versicolor,virginica")], &path)?;
/// let meta = io::read_metadata(&path)?;
/// assert_eq!(meta.scalar.as_deref(), Some("f32"));
/// assert_eq!(meta.layers, ["0 Linear<4, 8> 4 -> 8", "1 Relu 8 -> 8", "2 Linear<8, 3> 8 -> 3"]);
/// assert_eq!(meta.entries["classes"], "setosa,versicolor,virginica");
/// # Ok::<(), constnet::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Metadata {
    /// The version of constnet that wrote the file.
    pub version: Option<String>,
    /// `"f32"` or `"f64"`.
    pub scalar: Option<String>,
    /// One line per row of the network's [`summary`](crate::nn::summary): position, layer,
    /// inputs `->` outputs.
    pub layers: Vec<String>,
    /// Every other entry: the program's own, and a training checkpoint's state.
    pub entries: BTreeMap<String, String>,
}

/// The lines of `net`'s summary, as [`Metadata::layers`] holds them.
pub(crate) fn layer_lines<T: Scalar, N: Layer<T, I, O> + ?Sized, const I: usize, const O: usize>(
    net: &N,
) -> Vec<String> {
    let mut lines = Vec::new();
    net.describe(&Path::ROOT, &mut |info: LayerInfo| {
        lines.push(format!(
            "{} {} {} -> {}",
            info.position, info.name, info.inputs, info.outputs
        ));
    });
    lines
}

/// The metadata this crate writes for `net`, and `entries` (checked not to use its keys).
pub(crate) fn metadata_for<
    T: Scalar,
    N: Layer<T, I, O> + ?Sized,
    const I: usize,
    const O: usize,
>(
    net: &N,
    entries: &[(&str, &str)],
) -> Result<Vec<(String, String)>, Error> {
    let mut out = Vec::with_capacity(entries.len() + 3);
    for &(key, value) in entries {
        if key.starts_with("constnet.") || key == "format" {
            return Err(Error::Weights {
                problem: WeightsProblem::Format {
                    message: format!("the metadata key `{key}` is reserved"),
                },
            }
            .at("<memory>"));
        }
        out.push((key.to_string(), value.to_string()));
    }
    out.push((VERSION.to_string(), env!("CARGO_PKG_VERSION").to_string()));
    let scalar = if size_of::<T>() == 4 { "f32" } else { "f64" };
    out.push((SCALAR.to_string(), scalar.to_string()));
    out.push((LAYERS.to_string(), layer_lines(net).join("\n")));
    Ok(out)
}

/// The metadata in safetensors `bytes` (only the header is parsed).
///
/// # Errors
/// [`Error::Weights`] (its path `<memory>`) if the header is not valid safetensors.
pub fn metadata_of(bytes: &[u8]) -> Result<Metadata, Error> {
    parse(bytes).map_err(|problem| Error::Weights { problem }.at("<memory>"))
}

/// The metadata of a file that starts with `bytes` (its header length and header: the
/// tensors' bytes need not follow).
fn parse(bytes: &[u8]) -> Result<Metadata, WeightsProblem> {
    let format = |message: String| WeightsProblem::Format { message };
    let len = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
        .ok_or_else(|| format("shorter than the 8 bytes of a header length".into()))?;
    let header = usize::try_from(len)
        .ok()
        .and_then(|len| bytes.get(8..8usize.checked_add(len)?))
        .ok_or_else(|| format(format!("a header of {len} bytes, longer than the file")))?;
    let json: serde_json::Value = serde_json::from_slice(header)
        .map_err(|e| format(format!("a header that is not JSON: {e}")))?;
    let empty = serde_json::Map::new();
    let entries = match json.get("__metadata__") {
        None | Some(serde_json::Value::Null) => &empty,
        Some(serde_json::Value::Object(map)) => map,
        Some(_) => return Err(format("`__metadata__` is not a map of strings".into())),
    };
    let mut meta = Metadata::default();
    for (key, value) in entries {
        let Some(value) = value.as_str() else {
            return Err(format(format!("metadata entry `{key}` is not a string")));
        };
        match key.as_str() {
            VERSION => meta.version = Some(value.to_string()),
            SCALAR => meta.scalar = Some(value.to_string()),
            LAYERS => meta.layers = value.lines().map(str::to_string).collect(),
            "format" => {}
            _ => {
                meta.entries.insert(key.clone(), value.to_string());
            }
        }
    }
    Ok(meta)
}

/// Reads the metadata of the weights file at `path`: one call, no network needed. Only the
/// header is read (at most 16 MiB), however large the file.
///
/// # Errors
/// [`Error::Io`], [`Error::NotARegularFile`] for the file; [`Error::Weights`] naming it if
/// its header is not valid safetensors.
pub fn read_metadata(path: impl AsRef<FilePath>) -> Result<Metadata, Error> {
    let path = path.as_ref();
    let head = read_header(path)?;
    parse(&head).map_err(|problem| Error::Weights { problem }.at(path))
}

/// The first bytes of the file: its 8-byte header length and the header (a shorter file
/// gives what it has, which the parser then refuses).
fn read_header(path: &FilePath) -> Result<Vec<u8>, Error> {
    use std::io::Read;
    let file = open_regular_file(path)?;
    let io = |source: std::io::Error| Error::Io { source }.at(path);
    let mut prefix = Vec::with_capacity(8);
    let mut file = file;
    (&mut file).take(8).read_to_end(&mut prefix).map_err(io)?;
    let len = prefix
        .get(..8)
        .map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])));
    if len > HEADER_LIMIT {
        return Err(Error::Weights {
            problem: WeightsProblem::Format {
                message: format!("a header of {len} bytes, over the limit of {HEADER_LIMIT}"),
            },
        }
        .at(path));
    }
    file.take(len).read_to_end(&mut prefix).map_err(io)?;
    Ok(prefix)
}

/// When a file that does not fit `net` says what network it holds: the first row of the
/// summaries that differs, as a [`WeightsProblem::OtherNetwork`] carrying `problem`'s text.
pub(crate) fn explain<T: Scalar, N: Layer<T, I, O>, const I: usize, const O: usize>(
    net: &N,
    bytes: &[u8],
    problem: WeightsProblem,
) -> WeightsProblem {
    let structural = matches!(
        problem,
        WeightsProblem::MissingTensor { .. }
            | WeightsProblem::UnexpectedTensor { .. }
            | WeightsProblem::WrongShape { .. }
    );
    let Ok(meta) = parse(bytes) else {
        return problem;
    };
    if !structural {
        return problem;
    }
    if meta.layers.is_empty() {
        return problem;
    }
    let ours = layer_lines(net);
    let row = (0..meta.layers.len().max(ours.len())).find(|&k| meta.layers.get(k) != ours.get(k));
    match row {
        Some(row) => WeightsProblem::OtherNetwork {
            row,
            file: meta
                .layers
                .get(row)
                .cloned()
                .unwrap_or_else(|| "(none)".into()),
            network: ours.get(row).cloned().unwrap_or_else(|| "(none)".into()),
            detail: problem.to_string(),
        },
        None => problem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::fs::test_dir;
    use crate::io::{load_safetensors, save_safetensors, save_safetensors_described};
    use crate::nn::layers::{BatchNorm1d, Linear, Relu};
    use safetensors::tensor::SafeTensors;

    #[test]
    fn every_save_describes_the_network_and_keeps_the_programs_entries() {
        let dir = test_dir("metadata");
        let path = dir.join("described.safetensors");
        let net = Linear::<4, 8, f64>::zeros()
            .then(BatchNorm1d::<8, f64>::new())
            .then(Relu)
            .then(Linear::<8, 3, f64>::zeros());
        save_safetensors_described(&net, &[], &[("classes", "a,b,c"), ("hidden", "8")], &path)
            .unwrap();
        let meta = read_metadata(&path).unwrap();
        assert_eq!(meta.version.as_deref(), Some(env!("CARGO_PKG_VERSION")));
        assert_eq!(meta.scalar.as_deref(), Some("f64"));
        assert_eq!(
            meta.layers,
            [
                "0 Linear<4, 8, f64> 4 -> 8",
                "1 BatchNorm1d<8> 8 -> 8",
                "2 Relu 8 -> 8",
                "3 Linear<8, 3, f64> 8 -> 3"
            ]
        );
        assert_eq!(meta.entries.len(), 2);
        assert_eq!(meta.entries["classes"], "a,b,c");
        // A plain save describes the network too; the bytes variant reads the same.
        save_safetensors(&net, &path).unwrap();
        let plain = read_metadata(&path).unwrap();
        assert_eq!((plain.layers.len(), plain.entries.len()), (4, 0));
        assert_eq!(metadata_of(&std::fs::read(&path).unwrap()).unwrap(), plain);
        // The same network and entries give the same bytes every time (the header's keys are
        // sorted; the encoder's own order is a hash map's, new for every map).
        let bytes = |_| {
            crate::io::to_safetensors_described(&net, &[], &[("z", "1"), ("a", "2"), ("m", "3")])
                .unwrap()
        };
        let first = bytes(0);
        assert!((1..20).all(|k| bytes(k) == first));
        // The crate's own keys are reserved.
        let err = save_safetensors_described(&net, &[], &[("constnet.layers", "x")], &path);
        assert!(err.unwrap_err().to_string().contains("reserved"));
    }

    #[test]
    fn a_file_of_another_network_names_the_first_layer_that_differs() {
        let dir = test_dir("metadata-other");
        let path = dir.join("normed.safetensors");
        let normed = Linear::<4, 8>::zeros()
            .then(BatchNorm1d::<8>::new())
            .then(Relu)
            .then(Linear::<8, 3>::zeros());
        save_safetensors(&normed, &path).unwrap();
        let mut plain = Linear::<4, 8>::zeros()
            .then(Relu)
            .then(Linear::<8, 3>::zeros());
        let err = load_safetensors(&mut plain, &path).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("row 1 of its summary is `1 BatchNorm1d<8> 8 -> 8`, of this network's `1 Relu 8 -> 8`"),
            "{text}"
        );
        // The tensor problem is kept in the message.
        assert!(text.contains("tensor `2.weight` is missing"), "{text}");
        // A file without constnet's metadata (PyTorch's) gives the tensor problem alone.
        let bytes = std::fs::read(&path).unwrap();
        let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
        assert!(header.metadata().is_some());
        let bare = header_without_metadata(&bytes);
        let err = crate::io::from_safetensors(&mut plain, &bare).unwrap_err();
        assert!(!err.to_string().contains("another network"), "{err}");
        assert_eq!(metadata_of(&bare).unwrap(), Metadata::default());
        // Not a file, or not safetensors: errors, not panics.
        assert!(read_metadata(&dir).is_err());
        std::fs::write(dir.join("short"), [1u8, 2]).unwrap();
        assert!(read_metadata(dir.join("short")).is_err());
    }

    /// The same file with its `__metadata__` taken out of the header (as PyTorch's `save_file`
    /// without metadata would write it).
    fn header_without_metadata(bytes: &[u8]) -> Vec<u8> {
        let file = SafeTensors::deserialize(bytes).unwrap();
        let tensors: Vec<(String, safetensors::tensor::TensorView<'_>)> = file
            .tensors()
            .into_iter()
            .map(|(n, t)| (n.to_string(), t))
            .collect();
        safetensors::serialize(tensors, None).unwrap()
    }
}
