//! Saving and loading a network's parameters in the safetensors format, with PyTorch's
//! names and layout, so that `safetensors.torch.load_file` reads them into an equal
//! `nn.Sequential`.
//!
//! Layer `k` of the network (counting activations, as `nn.Sequential` does) stores
//! `k.weight` as an `out × in` row-major tensor and `k.bias` as a vector of `out`; `f32`
//! networks write `F32` tensors, `f64` networks `F64`.

use std::collections::{BTreeSet, HashMap};
use std::path::Path as FilePath;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::error::WeightsProblem;
use crate::io::fs::read_regular_file;
use crate::io::metadata::{explain, metadata_for};
use crate::io::record::Record;
use crate::nn::layer::check_finite_params;
use crate::nn::param::{Path, Role, Shape};
use crate::nn::param::{from_row_major, to_row_major};
use crate::{base::scalar::Scalar, error::Error, io::fs::write_atomic, nn::layer::Layer};

fn dtype<T: Scalar>() -> Dtype {
    if size_of::<T>() == 4 {
        Dtype::F32
    } else {
        Dtype::F64
    }
}

fn encode<T: Scalar>(value: T, out: &mut Vec<u8>) {
    if size_of::<T>() == 4 {
        out.extend_from_slice(&(value.as_f64() as f32).to_le_bytes());
    } else {
        out.extend_from_slice(&value.as_f64().to_le_bytes());
    }
}

fn decode<T: Scalar>(bytes: &[u8]) -> T {
    match *bytes {
        [a, b, c, d] => T::of(f32::from_le_bytes([a, b, c, d]) as f64),
        [a, b, c, d, e, f, g, h] => T::of(f64::from_le_bytes([a, b, c, d, e, f, g, h])),
        _ => unreachable!("chunks of the dtype's size"),
    }
}

/// Room in a weights file beyond its tensors' values, for the header and metadata.
const HEADER_ALLOWANCE: u64 = 1 << 20;

/// The network's parameters as safetensors bytes.
///
/// # Errors
/// [`Error::NonFiniteParameter`] if a parameter is NaN or infinite (such a file could not be
/// loaded); [`Error::Weights`] if the encoder fails (it does not for networks of this
/// library).
pub fn to_safetensors<T: Scalar, N: Layer<T, I, O>, const I: usize, const O: usize>(
    net: &N,
) -> Result<Vec<u8>, Error> {
    to_safetensors_with(net, &[])
}

/// The network's parameters and `extras` (such as a [`StandardScaler`](crate::data::preprocess::StandardScaler))
/// as safetensors bytes: extra `name`'s tensor `t` is stored as `name.t`, a vector.
///
/// # Errors
/// As [`to_safetensors`]; [`Error::Weights`] if an extra's name is a parameter's or another
/// extra's.
pub fn to_safetensors_with<T: Scalar, N: Layer<T, I, O>, const I: usize, const O: usize>(
    net: &N,
    extras: &[(&str, &dyn Extra<T>)],
) -> Result<Vec<u8>, Error> {
    to_safetensors_described(net, extras, &[])
}

/// The network's parameters, `extras` and metadata `entries` (keys and values of your own,
/// such as class names) as safetensors bytes; see [`save_safetensors_described`].
///
/// # Errors
/// As [`to_safetensors_with`]; [`Error::Weights`] for an entry whose key starts with
/// `constnet.` (the crate's own) or is `format`.
pub fn to_safetensors_described<T: Scalar, N: Layer<T, I, O>, const I: usize, const O: usize>(
    net: &N,
    extras: &[(&str, &dyn Extra<T>)],
    entries: &[(&str, &str)],
) -> Result<Vec<u8>, Error> {
    let metadata = metadata_for(net, entries)?.into_iter().collect();
    let mut tensors = param_tensors(net)?;
    for (prefix, extra) in extras {
        for (name, values) in extra.tensors() {
            let mut bytes = Vec::with_capacity(size_of_val(values));
            for &v in values {
                encode(v, &mut bytes);
            }
            let name = format!("{prefix}.{name}");
            if tensors.iter().any(|(n, ..)| *n == name) {
                return Err(Error::Weights {
                    problem: WeightsProblem::Format {
                        message: format!("two tensors are named `{name}`"),
                    },
                }
                .at("<memory>"));
            }
            tensors.push((name, vec![values.len()], bytes, dtype::<T>()));
        }
    }
    serialize(tensors, metadata)
}

/// A tensor ready for the file: its name, PyTorch's shape, its little-endian bytes, their type.
type Encoded = (String, Vec<usize>, Vec<u8>, Dtype);

/// The network's parameters as safetensors tensors: their full names, PyTorch's shapes and
/// row-major bytes.
fn param_tensors<T: Scalar, N: Layer<T, I, O>, const I: usize, const O: usize>(
    net: &N,
) -> Result<Vec<Encoded>, Error> {
    check_finite_params(net, None)?;
    unique_names(net)?;
    let mut tensors = Vec::new();
    net.visit_params(&Path::ROOT, &mut |p| {
        let name = p.full_name().to_string();
        if p.role == Role::Count {
            // A whole number (checked finite above), as PyTorch's int64 `num_batches_tracked`.
            let count = p.value.first().map_or(0.0, |v| v.as_f64()) as i64;
            tensors.push((name, Vec::new(), count.to_le_bytes().to_vec(), Dtype::I64));
            return;
        }
        let mut bytes = Vec::with_capacity(size_of_val(p.value));
        for v in to_row_major(p.shape, p.value) {
            encode(v, &mut bytes);
        }
        tensors.push((name, p.shape.dims(), bytes, dtype::<T>()));
    });
    Ok(tensors)
}

/// The network's parameters and a [`Record`]'s tensors and values (in the metadata) as
/// safetensors bytes: a training checkpoint.
///
/// # Errors
/// As [`to_safetensors`]; [`Error::Weights`] if a record's tensor has a parameter's name.
pub(crate) fn to_safetensors_with_record<
    T: Scalar,
    N: Layer<T, I, O>,
    const I: usize,
    const O: usize,
>(
    net: &N,
    record: &Record<T>,
) -> Result<Vec<u8>, Error> {
    let mut tensors = param_tensors(net)?;
    let described: HashMap<String, String> = metadata_for(net, &[])?.into_iter().collect();
    for (name, (dims, values)) in &record.tensors {
        if tensors.iter().any(|(n, ..)| n == name) {
            return Err(Error::Weights {
                problem: WeightsProblem::Format {
                    message: format!("two tensors are named `{name}`"),
                },
            }
            .at("<memory>"));
        }
        let mut bytes = Vec::with_capacity(size_of_val(values.as_slice()));
        for &v in values {
            encode(v, &mut bytes);
        }
        tensors.push((name.clone(), dims.clone(), bytes, dtype::<T>()));
    }
    let mut metadata: HashMap<String, String> = record
        .values
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    metadata.extend(described);
    serialize(tensors, metadata)
}

/// Safetensors bytes of `tensors` (name, shape, little-endian values, their type) and
/// `metadata` (with `format: pt`, which `safetensors.torch` expects).
fn serialize(
    tensors: Vec<Encoded>,
    mut metadata: HashMap<String, String>,
) -> Result<Vec<u8>, Error> {
    let format_error = |e: safetensors::SafeTensorError| {
        Error::Weights {
            problem: WeightsProblem::Format {
                message: e.to_string(),
            },
        }
        .at("<memory>")
    };
    let views = tensors
        .iter()
        .map(|(name, shape, bytes, dtype)| {
            TensorView::new(*dtype, shape.clone(), bytes).map(|v| (name.clone(), v))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(format_error)?;
    metadata.insert("format".to_string(), "pt".to_string());
    let bytes = safetensors::serialize(views, Some(metadata)).map_err(format_error)?;
    canonical(bytes).map_err(|message| {
        Error::Weights {
            problem: WeightsProblem::Format { message },
        }
        .at("<memory>")
    })
}

/// The same file with its header's keys in sorted order: the encoder writes the metadata in
/// a hash map's order, which changes from run to run, and a save must give the same bytes
/// every time (a resumed run's file is compared with an uninterrupted one's).
fn canonical(bytes: Vec<u8>) -> Result<Vec<u8>, String> {
    use std::collections::BTreeMap;
    let len = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])) as usize)
        .ok_or("no header")?;
    let header = bytes
        .get(8..8 + len)
        .ok_or("a header longer than the file")?;
    let mut map: BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(header).map_err(|e| e.to_string())?;
    if let Some(serde_json::Value::Object(meta)) = map.get("__metadata__") {
        let sorted: BTreeMap<String, serde_json::Value> =
            meta.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let sorted = serde_json::to_value(sorted).map_err(|e| e.to_string())?;
        map.insert("__metadata__".to_string(), sorted);
    }
    let mut text = serde_json::to_string(&map).map_err(|e| e.to_string())?;
    // The data starts at a multiple of 8 bytes, as the format asks; spaces pad the header.
    while !text.len().is_multiple_of(8) {
        text.push(' ');
    }
    let mut out = Vec::with_capacity(8 + text.len() + bytes.len() - 8 - len);
    out.extend_from_slice(&(text.len() as u64).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&bytes[8 + len..]);
    Ok(out)
}

/// Saves the network's parameters to `path` in the safetensors format, atomically.
///
/// # Errors
/// [`Error::NonFiniteParameter`] if a parameter is NaN or infinite (nothing is written);
/// [`Error::Io`] if the file cannot be written; the old file, if any, is then untouched.
///
/// # Example
/// ```
/// use constnet::{io, nn::{Layer, Linear, Relu}};
/// let net = Linear::<4, 3>::zeros().then(Relu).then(Linear::<3, 2>::zeros());
/// let path = std::env::temp_dir().join("constnet-doc-save.safetensors");
/// io::save_safetensors(&net, &path)?;
/// let mut copy = Linear::<4, 3>::zeros().then(Relu).then(Linear::<3, 2>::zeros());
/// io::load_safetensors(&mut copy, &path)?;
/// # Ok::<(), constnet::Error>(())
/// ```
pub fn save_safetensors<T: Scalar, N: Layer<T, I, O>, const I: usize, const O: usize>(
    net: &N,
    path: impl AsRef<FilePath>,
) -> Result<(), Error> {
    let path = path.as_ref();
    save_safetensors_with(net, &[], path)
}

/// Saves the network's parameters and `extras` (e.g. the scaler its inputs need) to `path`,
/// atomically; [`load_safetensors_with`] reads them back.
///
/// # Errors
/// As [`save_safetensors`].
///
/// # Example
/// ```
/// use constnet::{io, data::{Dataset, StandardScaler}, nn::Linear};
/// let data = Dataset::<f32, 2, usize>::from_row_arrays([([1.0, 5.0], 0), ([3.0, 9.0], 1)])?;
/// let scaler = StandardScaler::fit(&data);
/// let net = Linear::<2, 2>::zeros();
/// let path = std::env::temp_dir().join("constnet-doc-save-with.safetensors");
/// io::save_safetensors_with(&net, &[("scaler", &scaler)], &path)?;
///
/// let mut loaded_net = Linear::<2, 2>::zeros();
/// let mut loaded_scaler = StandardScaler::identity();
/// io::load_safetensors_with(&mut loaded_net, &mut [("scaler", &mut loaded_scaler)], &path)?;
/// assert_eq!(loaded_scaler, scaler);
/// # Ok::<(), constnet::Error>(())
/// ```
pub fn save_safetensors_with<T: Scalar, N: Layer<T, I, O>, const I: usize, const O: usize>(
    net: &N,
    extras: &[(&str, &dyn Extra<T>)],
    path: impl AsRef<FilePath>,
) -> Result<(), Error> {
    save_safetensors_described(net, extras, &[], path)
}

/// Saves the network's parameters, `extras` and metadata `entries` to `path`, atomically.
///
/// Every save of this crate writes into the file's metadata the crate's version, the scalar
/// type and the network's summary (one line per layer); `entries` adds your own (class names,
/// feature names, the settings that built the network), all read back with one call,
/// [`read_metadata`](crate::io::read_metadata). PyTorch's `safe_open(...).metadata()` reads
/// them too.
///
/// # Errors
/// As [`save_safetensors`]; [`Error::Weights`] for an entry whose key starts with
/// `constnet.` or is `format`.
pub fn save_safetensors_described<T: Scalar, N: Layer<T, I, O>, const I: usize, const O: usize>(
    net: &N,
    extras: &[(&str, &dyn Extra<T>)],
    entries: &[(&str, &str)],
    path: impl AsRef<FilePath>,
) -> Result<(), Error> {
    let path = path.as_ref();
    // The encoder's errors name `<memory>`; here they are about the file.
    let bytes = to_safetensors_described(net, extras, entries).map_err(|e| match e {
        Error::WithPath { source, .. } if matches!(*source, Error::Weights { .. }) => {
            source.at(path)
        }
        other => other,
    })?;
    write_atomic(path, &bytes)
}

/// Loads parameters saved by [`save_safetensors`] (or by PyTorch's `save_file` from an
/// equal `nn.Sequential`) from `path` into `net`.
///
/// Everything is checked before anything is written: on error the network is unchanged.
/// Only a regular file is read, and only if it is no larger than the network's parameters
/// plus 1 MiB for the header, so a wrong path (a device, a huge file) cannot exhaust memory.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read; [`Error::NotARegularFile`];
/// [`Error::FileTooLarge`]; [`Error::Weights`] naming the file and the
/// tensor if the file is not valid safetensors, lacks a parameter of the network, has a
/// tensor the network lacks, or has a tensor of another element type or shape, or holding
/// NaN or an infinity.
pub fn load_safetensors<T: Scalar, N: Layer<T, I, O>, const I: usize, const O: usize>(
    net: &mut N,
    path: impl AsRef<FilePath>,
) -> Result<(), Error> {
    let path = path.as_ref();
    load_safetensors_with(net, &mut [], path)
}

/// Loads parameters and `extras` saved by [`save_safetensors_with`] from `path`.
///
/// Every tensor is decoded and checked first, then the extras are set (each checks its own
/// values, e.g. a scaler's scales must be positive), then the network: on error the network
/// is unchanged.
///
/// # Errors
/// As [`load_safetensors`]; an extra's tensor that is missing or of another length is
/// [`WeightsProblem::MissingTensor`] / [`WeightsProblem::WrongShape`]; values an extra
/// refuses are its error ([`Error::InvalidHyperparameter`] for a scaler).
pub fn load_safetensors_with<T: Scalar, N: Layer<T, I, O>, const I: usize, const O: usize>(
    net: &mut N,
    extras: &mut [(&str, &mut dyn Extra<T>)],
    path: impl AsRef<FilePath>,
) -> Result<(), Error> {
    let path = path.as_ref();
    let extra_values: usize = extras
        .iter()
        .flat_map(|(_, e)| e.tensors().into_iter().map(|(_, v)| v.len()))
        .sum();
    let limit = ((net.num_params() + extra_values) * size_of::<T>()) as u64 + HEADER_ALLOWANCE;
    unique_names(net)?;
    let bytes = read_regular_file(path, limit)?;
    let weights_error = |problem| Error::Weights { problem }.at(path);
    let (params, extra_tensors) = decode_file(net, extras, &bytes)
        .map_err(|problem| weights_error(explain(net, &bytes, problem)))?;
    // All or nothing: an extra that refuses its values puts back the ones set before it.
    let before: Vec<Vec<Vec<T>>> = extras
        .iter()
        .map(|(_, e)| e.tensors().iter().map(|(_, v)| v.to_vec()).collect())
        .collect();
    for (k, values) in extra_tensors.iter().enumerate() {
        if let Err(e) = extras[k].1.set_tensors(values) {
            for (j, old) in before.iter().enumerate().take(k) {
                // Values it held a moment ago: it takes them back.
                let _ = extras[j].1.set_tensors(old);
            }
            return Err(e);
        }
    }
    write_params(net, params);
    Ok(())
}

/// Loads parameters from safetensors bytes into `net`; see [`load_safetensors`].
///
/// # Errors
/// As [`load_safetensors`]: [`Error::Weights`] (its path `<memory>`) with the
/// [`WeightsProblem`] found, or [`Error::DuplicateParameter`].
pub fn from_safetensors<T: Scalar, N: Layer<T, I, O>, const I: usize, const O: usize>(
    net: &mut N,
    bytes: &[u8],
) -> Result<(), Error> {
    unique_names(net)?;
    let (params, _) = decode_file(net, &mut [], bytes).map_err(|problem| {
        Error::Weights {
            problem: explain(net, bytes, problem),
        }
        .at("<memory>")
    })?;
    write_params(net, params);
    Ok(())
}

/// Values kept beside a network's weights in its file, such as a scaler's means and scales:
/// named vectors of the network's scalar type. Implemented by
/// [`StandardScaler`](crate::data::preprocess::StandardScaler) and [`MinMaxScaler`](crate::data::preprocess::MinMaxScaler).
pub trait Extra<T> {
    /// The tensors, each a name and its values, in a fixed order.
    fn tensors(&self) -> Vec<(&'static str, &[T])>;

    /// Sets the tensors from values read back, in the order of [`Extra::tensors`] and each of
    /// its length.
    ///
    /// # Errors
    /// Values the type cannot hold (e.g. a scale of 0), leaving it unchanged.
    fn set_tensors(&mut self, values: &[Vec<T>]) -> Result<(), Error>;
}

/// The network's tensor names, or the first name that two tensors share (a file could not
/// tell them apart).
fn unique_names<T: Scalar, N: Layer<T, I, O>, const I: usize, const O: usize>(
    net: &N,
) -> Result<BTreeSet<String>, Error> {
    let mut names = BTreeSet::new();
    let mut duplicate = None;
    net.visit_params(&Path::ROOT, &mut |p| {
        let name = p.full_name().to_string();
        if !names.insert(name.clone()) && duplicate.is_none() {
            duplicate = Some(name);
        }
    });
    duplicate.map_or(Ok(names), |name| Err(Error::DuplicateParameter { name }))
}

/// Copies decoded parameter values into the network, in visiting order.
pub(crate) fn write_params<T: Scalar, N: Layer<T, I, O>, const I: usize, const O: usize>(
    net: &mut N,
    decoded: Vec<Vec<T>>,
) {
    let mut slot = 0;
    net.visit_params_mut(&Path::ROOT, &mut |p| {
        p.value.copy_from_slice(&decoded[slot]);
        slot += 1;
    });
}

/// Reads a [`Role::Count`] tensor: one non-negative 64-bit integer of shape `[]`.
fn read_count<T: Scalar>(file: &SafeTensors<'_>, name: &str) -> Result<Vec<T>, WeightsProblem> {
    let tensor = file
        .tensor(name)
        .map_err(|_| WeightsProblem::MissingTensor {
            name: name.to_string(),
        })?;
    if tensor.dtype() != Dtype::I64 {
        return Err(WeightsProblem::WrongDtype {
            name: name.to_string(),
            expected: Dtype::I64.to_string(),
            found: tensor.dtype().to_string(),
        });
    }
    if !tensor.shape().is_empty() {
        return Err(WeightsProblem::WrongShape {
            name: name.to_string(),
            expected: Vec::new(),
            found: tensor.shape().to_vec(),
        });
    }
    let bytes: [u8; 8] = tensor
        .data()
        .try_into()
        .map_err(|_| WeightsProblem::Format {
            message: format!("`{name}` holds {} bytes, not 8", tensor.data().len()),
        })?;
    let count = i64::from_le_bytes(bytes);
    if count < 0 {
        return Err(WeightsProblem::NonFinite {
            name: name.to_string(),
            index: 0,
        });
    }
    Ok(vec![T::of(count as f64)])
}

/// Reads a tensor of the network: a count as [`read_count`], any other as [`read_tensor`],
/// turned column-major.
fn read_param<T: Scalar>(
    file: &SafeTensors<'_>,
    name: &str,
    role: Role,
    shape: Shape,
) -> Result<Vec<T>, WeightsProblem> {
    if role == Role::Count {
        return read_count(file, name);
    }
    let row_major = read_tensor::<T>(file, name, &shape.dims())?;
    Ok(from_row_major(shape, &row_major))
}

/// Reads a tensor's values (row-major, checked finite) after checking dtype and shape.
fn read_tensor<T: Scalar>(
    file: &SafeTensors<'_>,
    name: &str,
    shape: &[usize],
) -> Result<Vec<T>, WeightsProblem> {
    let tensor = file
        .tensor(name)
        .map_err(|_| WeightsProblem::MissingTensor {
            name: name.to_string(),
        })?;
    if tensor.dtype() != dtype::<T>() {
        return Err(WeightsProblem::WrongDtype {
            name: name.to_string(),
            expected: dtype::<T>().to_string(),
            found: tensor.dtype().to_string(),
        });
    }
    if tensor.shape() != shape {
        return Err(WeightsProblem::WrongShape {
            name: name.to_string(),
            expected: shape.to_vec(),
            found: tensor.shape().to_vec(),
        });
    }
    let mut values = Vec::with_capacity(shape.iter().product());
    for (index, chunk) in tensor.data().chunks_exact(size_of::<T>()).enumerate() {
        let v: T = decode(chunk);
        if !v.finite() {
            return Err(WeightsProblem::NonFinite {
                name: name.to_string(),
                index,
            });
        }
        values.push(v);
    }
    Ok(values)
}

/// The network's parameters (column-major, in visiting order) and the extras' tensors,
/// decoded and checked; a tensor that belongs to neither is an error.
#[allow(clippy::type_complexity)]
fn decode_file<T: Scalar, N: Layer<T, I, O>, const I: usize, const O: usize>(
    net: &N,
    extras: &mut [(&str, &mut dyn Extra<T>)],
    bytes: &[u8],
) -> Result<(Vec<Vec<T>>, Vec<Vec<Vec<T>>>), WeightsProblem> {
    let file = SafeTensors::deserialize(bytes).map_err(|e| WeightsProblem::Format {
        message: e.to_string(),
    })?;
    let mut known = BTreeSet::new();
    let mut extra_tensors = Vec::with_capacity(extras.len());
    for (prefix, extra) in extras.iter() {
        let mut tensors = Vec::new();
        for (name, values) in extra.tensors() {
            let name = format!("{prefix}.{name}");
            tensors.push(read_tensor::<T>(&file, &name, &[values.len()])?);
            known.insert(name);
        }
        extra_tensors.push(tensors);
    }
    let mut expected = Vec::new();
    net.visit_params(&Path::ROOT, &mut |p| {
        expected.push((p.full_name().to_string(), p.role, p.shape));
    });

    // Decode and check every tensor before touching the network.
    let mut decoded: Vec<Vec<T>> = Vec::with_capacity(expected.len());
    for (name, role, shape) in expected {
        decoded.push(read_param(&file, &name, role, shape)?);
        known.insert(name);
    }
    let mut names = file.names();
    names.sort_unstable();
    if let Some(extra) = names.into_iter().find(|n| !known.contains(*n)) {
        return Err(WeightsProblem::UnexpectedTensor {
            name: extra.to_string(),
        });
    }
    Ok((decoded, extra_tensors))
}

/// A training checkpoint: the network's parameters (column-major, in visiting order, all
/// checked), and every other tensor and the metadata as a [`Record`].
#[allow(clippy::type_complexity)]
pub(crate) fn decode_with_record<T: Scalar, N: Layer<T, I, O>, const I: usize, const O: usize>(
    net: &N,
    bytes: &[u8],
) -> Result<(Vec<Vec<T>>, Record<T>), WeightsProblem> {
    let (_, metadata) = SafeTensors::read_metadata(bytes).map_err(|e| WeightsProblem::Format {
        message: e.to_string(),
    })?;
    let file = SafeTensors::deserialize(bytes).map_err(|e| WeightsProblem::Format {
        message: e.to_string(),
    })?;
    let mut known = BTreeSet::new();
    let mut decoded = Vec::new();
    let mut expected = Vec::new();
    net.visit_params(&Path::ROOT, &mut |p| {
        expected.push((p.full_name().to_string(), p.role, p.shape));
    });
    for (name, role, shape) in expected {
        decoded.push(read_param(&file, &name, role, shape)?);
        known.insert(name);
    }
    let mut record = Record::default();
    for name in file.names() {
        if known.contains(name) {
            continue;
        }
        let dims = file
            .tensor(name)
            .map_err(|e| WeightsProblem::Format {
                message: e.to_string(),
            })?
            .shape()
            .to_vec();
        let values = read_tensor::<T>(&file, name, &dims)?;
        record.put_tensor(name, dims, values);
    }
    if let Some(values) = metadata.metadata() {
        for (key, value) in values {
            record.put(key.clone(), value);
        }
    }
    Ok((decoded, record))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::fs::test_dir;
    use crate::nn::param::Shape;
    use crate::{nn::init::Init, nn::layers::Linear, nn::layers::Relu, nn::layers::Tanh};
    use nalgebra::SVector;
    use rand::SeedableRng;

    type Small =
        crate::nn::chain::Chain<crate::nn::chain::Chain<Linear<3, 4>, Relu, 4>, Linear<4, 2>, 4>;

    /// `y = a ⊙ x + b`, both vectors declared under one name by mistake.
    struct Affine<const N: usize, T: Scalar = f32> {
        a: SVector<T, N>,
        a_grad: SVector<T, N>,
        b: SVector<T, N>,
        b_grad: SVector<T, N>,
    }
    impl<const N: usize, T: Scalar> crate::nn::takes::Takes<N> for Affine<N, T> {}
    impl<const N: usize, T: Scalar> Layer<T, N, N> for Affine<N, T> {
        type Tape = ();
        fn forward_tape(&self, x: &SVector<T, N>) -> (SVector<T, N>, ()) {
            (x.component_mul(&self.a) + self.b, ())
        }
        fn backward(
            &mut self,
            x: &SVector<T, N>,
            _: &SVector<T, N>,
            dy: &SVector<T, N>,
            _: &(),
        ) -> SVector<T, N> {
            self.a_grad += dy.component_mul(x);
            self.b_grad += dy;
            dy.component_mul(&self.a)
        }
        crate::params! {
            bias: vector(a, a_grad);
            bias: vector(b, b_grad);
        }
    }

    /// A wrapper written by hand that visits its child at its own place instead of under a
    /// name, beside a tensor of its own: the child's `weight` lands on the wrapper's.
    struct Flat<L> {
        inner: L,
        w: SVector<f32, 2>,
        w_grad: SVector<f32, 2>,
    }
    impl<L: crate::nn::takes::Takes<2>> crate::nn::takes::Takes<2> for Flat<L> {}
    impl<L: Layer<f32, 2, 2>> Layer<f32, 2, 2> for Flat<L> {
        type Tape = L::Tape;
        fn forward_tape(&self, x: &SVector<f32, 2>) -> (SVector<f32, 2>, L::Tape) {
            self.inner.forward_tape(x)
        }
        fn backward(
            &mut self,
            x: &SVector<f32, 2>,
            y: &SVector<f32, 2>,
            dy: &SVector<f32, 2>,
            tape: &L::Tape,
        ) -> SVector<f32, 2> {
            self.inner.backward(x, y, dy, tape)
        }
        fn visit_params<F: FnMut(crate::nn::param::Param<'_, f32>)>(
            &self,
            at: &Path<'_>,
            f: &mut F,
        ) {
            self.inner.visit_params(at, f);
            f(crate::nn::param::Param {
                path: at,
                name: "weight",
                decay: true,
                role: crate::nn::param::Role::Learned,
                shape: Shape::Vector(2),
                value: self.w.as_slice(),
            });
        }
        fn visit_params_mut<F: FnMut(crate::nn::param::ParamMut<'_, f32>)>(
            &mut self,
            at: &Path<'_>,
            f: &mut F,
        ) {
            self.inner.visit_params_mut(at, f);
            f(crate::nn::param::ParamMut {
                path: at,
                name: "weight",
                decay: true,
                role: crate::nn::param::Role::Learned,
                shape: Shape::Vector(2),
                value: self.w.as_mut_slice(),
                grad: self.w_grad.as_mut_slice(),
            });
        }
        fn visit_state(&mut self, at: &Path<'_>, op: &mut crate::nn::param::StateOp<'_>) {
            self.inner.visit_state(at, op);
        }
    }

    /// Regression (issue 20, item 7): with two extras, an invalid second one left the first
    /// overwritten. Loading is all or nothing, extras included.
    #[test]
    fn an_invalid_extra_leaves_every_extra_and_the_network_as_they_were() {
        use crate::data::StandardScaler;
        /// Writes a scaler's two tensors as given, valid or not.
        struct Raw(Vec<f32>, Vec<f32>);
        impl Extra<f32> for Raw {
            fn tensors(&self) -> Vec<(&'static str, &[f32])> {
                vec![("mean", &self.0), ("scale", &self.1)]
            }
            fn set_tensors(&mut self, _: &[Vec<f32>]) -> Result<(), Error> {
                Ok(())
            }
        }
        let path = test_dir("extras").join("two.safetensors");
        let good = Raw(vec![1.0, 2.0], vec![3.0, 4.0]);
        let bad = Raw(vec![0.0, 0.0], vec![0.0, 0.0]); // a scale of 0: not a scaler
        save_safetensors_with(&small(1), &[("a", &good), ("b", &bad)], &path).unwrap();
        let mut net = small(2);
        let before = to_safetensors(&net).unwrap();
        let identity = StandardScaler::<f32, 2>::identity;
        let (mut a, mut b) = (identity(), identity());
        let err = load_safetensors_with(&mut net, &mut [("a", &mut a), ("b", &mut b)], &path)
            .unwrap_err();
        assert!(err.to_string().contains("scale"), "{err}");
        assert_eq!(a, identity(), "the first extra was left as it was");
        assert_eq!(b, identity());
        assert_eq!(to_safetensors(&net).unwrap(), before, "the network too");
    }

    /// Regression: two tensors of one name made `save_safetensors` panic inside safetensors
    /// ("index out of bounds: the len is 6 but the index is 7"), naming neither.
    #[test]
    fn colliding_tensor_names_are_an_error_naming_the_tensor() {
        let affine = Affine::<3> {
            a: SVector::repeat(1.0),
            a_grad: SVector::zeros(),
            b: SVector::zeros(),
            b_grad: SVector::zeros(),
        };
        let net = Linear::<2, 3>::zeros()
            .then(affine)
            .then(Linear::<3, 2>::zeros());
        let path = test_dir("collide").join("affine.safetensors");
        match save_safetensors(&net, &path) {
            Err(Error::DuplicateParameter { name }) => assert_eq!(name, "1.bias"),
            other => panic!("expected a duplicate-name error, got {other:?}"),
        }
        assert!(!path.exists(), "nothing is written");

        let flat = Flat {
            inner: Linear::<2, 2>::zeros(),
            w: SVector::zeros(),
            w_grad: SVector::zeros(),
        };
        let net = Linear::<2, 2>::zeros().then(flat);
        let err = to_safetensors(&net).unwrap_err();
        assert!(matches!(&err, Error::DuplicateParameter { name } if name == "1.weight"));
        assert!(err.to_string().contains("`1.weight`"), "{err}");
        // Loading into such a network is refused the same way, before the file is read.
        let mut net = net;
        let bytes = to_safetensors(&Linear::<2, 2>::zeros()).unwrap();
        let err = from_safetensors(&mut net, &bytes).unwrap_err();
        assert!(matches!(err, Error::DuplicateParameter { .. }), "{err}");
    }
    /// What `from_safetensors` found wrong with the bytes.
    fn problem_of<N: Layer<f32, I, O>, const I: usize, const O: usize>(
        net: &mut N,
        bytes: &[u8],
    ) -> Result<(), WeightsProblem> {
        from_safetensors(net, bytes).map_err(|e| match e.into_kind() {
            Error::Weights { problem } => problem,
            other => panic!("not a weights problem: {other}"),
        })
    }

    fn small(seed: u64) -> Small {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        Linear::<3, 4>::new(Init::HeNormal, &mut rng)
            .then(Relu)
            .then(Linear::<4, 2>::new(Init::HeNormal, &mut rng))
    }

    #[test]
    fn round_trip_is_bit_identical() {
        let dir = test_dir("io-round-trip");
        let path = dir.join("net.safetensors");
        let mut net = small(1);
        net.first_mut().first_mut().bias_mut()[2] = 0.125;
        save_safetensors(&net, &path).unwrap();
        let mut loaded = small(2);
        load_safetensors(&mut loaded, &path).unwrap();
        let x = SVector::from([0.3, -1.2, 2.5]);
        assert_eq!(net.forward(&x), loaded.forward(&x));
        assert_eq!(
            net.first().first().weight(),
            loaded.first().first().weight()
        );
    }

    #[test]
    fn layout_and_names_follow_pytorch() {
        let net = Linear::<2, 3, f64>::from_rows(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[7.0, 8.0, 9.0])
            .unwrap()
            .then(Tanh)
            .then(Linear::<3, 1, f64>::zeros());
        let bytes = to_safetensors(&net).unwrap();
        let file = SafeTensors::deserialize(&bytes).unwrap();
        let mut names = file.names();
        names.sort_unstable();
        assert_eq!(names, ["0.bias", "0.weight", "2.bias", "2.weight"]);
        let w = file.tensor("0.weight").unwrap();
        assert_eq!(w.dtype(), Dtype::F64);
        assert_eq!(w.shape(), &[3, 2]);
        let values: Vec<f64> = w.data().chunks_exact(8).map(decode::<f64>).collect();
        assert_eq!(values, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "row-major out × in");
        assert_eq!(file.tensor("2.bias").unwrap().shape(), &[1]);
    }

    #[test]
    fn a_network_of_another_shape_is_refused_and_left_unchanged() {
        let bytes = to_safetensors(&small(1)).unwrap();
        let mut other = Linear::<3, 5>::zeros()
            .then(Relu)
            .then(Linear::<5, 2>::zeros());
        // The file's metadata names the first layer that differs, and keeps the tensor's problem.
        let shape = WeightsProblem::WrongShape {
            name: "0.weight".into(),
            expected: vec![5, 3],
            found: vec![4, 3],
        };
        assert_eq!(
            problem_of(&mut other, &bytes),
            Err(WeightsProblem::OtherNetwork {
                row: 0,
                file: "0 Linear<3, 4> 3 -> 4".into(),
                network: "0 Linear<3, 5> 3 -> 5".into(),
                detail: shape.to_string(),
            })
        );
        assert_eq!(other.num_params(), 3 * 5 + 5 + 5 * 2 + 2);
        assert!(other.first().first().weight().iter().all(|&w| w == 0.0));

        // Fewer layers: the file has tensors the network lacks.
        let mut shallow = Linear::<3, 4>::zeros();
        let unexpected = WeightsProblem::UnexpectedTensor {
            name: "2.bias".into(),
        };
        assert_eq!(
            problem_of(&mut shallow, &bytes),
            Err(WeightsProblem::OtherNetwork {
                row: 1,
                file: "1 Relu 4 -> 4".into(),
                network: "(none)".into(),
                detail: unexpected.to_string(),
            })
        );
        // More layers: the network has parameters the file lacks.
        let short = to_safetensors(&Linear::<3, 4>::zeros()).unwrap();
        let missing = WeightsProblem::MissingTensor {
            name: "2.weight".into(),
        };
        assert_eq!(
            problem_of(&mut small(3), &short),
            Err(WeightsProblem::OtherNetwork {
                row: 1,
                file: "(none)".into(),
                network: "1 Relu 4 -> 4".into(),
                detail: missing.to_string(),
            })
        );
    }

    #[test]
    fn mistyped_non_finite_and_malformed_files_are_refused() {
        let f64_net = Linear::<3, 4, f64>::zeros()
            .then(Relu)
            .then(Linear::<4, 2, f64>::zeros());
        let bytes = to_safetensors(&f64_net).unwrap();
        assert!(matches!(
            problem_of(&mut small(1), &bytes),
            Err(WeightsProblem::WrongDtype { ref name, .. }) if name == "0.weight"
        ));

        let mut net = Linear::<2, 1>::zeros();
        net.bias_mut()[0] = f32::NAN;
        assert!(matches!(
            to_safetensors(&net),
            Err(Error::NonFiniteParameter { ref tensor, row: 0, column: 0, epoch: None })
                if tensor == "0.bias"
        ));
        let nan = f32::NAN.to_le_bytes();
        let views = [
            (
                "0.weight",
                TensorView::new(Dtype::F32, vec![1, 2], &[0; 8]).unwrap(),
            ),
            (
                "0.bias",
                TensorView::new(Dtype::F32, vec![1], &nan).unwrap(),
            ),
        ];
        let bytes = safetensors::serialize(views, None).unwrap();
        assert_eq!(
            problem_of(&mut Linear::<2, 1>::zeros(), &bytes),
            Err(WeightsProblem::NonFinite {
                name: "0.bias".into(),
                index: 0
            })
        );

        for junk in [&b""[..], b"not a safetensors file", &[0xff; 16]] {
            assert!(matches!(
                problem_of(&mut Linear::<2, 1>::zeros(), junk),
                Err(WeightsProblem::Format { .. })
            ));
        }
        let good = to_safetensors(&small(1)).unwrap();
        let truncated = &good[..good.len() - 3];
        assert!(problem_of(&mut small(1), truncated).is_err());
    }

    #[test]
    fn file_errors_name_the_file() {
        let dir = test_dir("io-errors");
        let path = dir.join("bad.safetensors");
        std::fs::write(&path, b"garbage").unwrap();
        let err = load_safetensors(&mut small(1), &path).unwrap_err();
        assert!(err.to_string().contains("bad.safetensors"), "{err}");
        let err = load_safetensors(&mut small(1), dir.join("absent")).unwrap_err();
        assert!(matches!(err.kind(), Error::Io { .. }));
    }

    /// Regression: `--load /dev/zero` read until memory ran out (24 GB resident).
    #[cfg(unix)]
    #[test]
    fn devices_and_oversized_files_are_refused_before_reading() {
        let err = load_safetensors(&mut small(1), FilePath::new("/dev/zero")).unwrap_err();
        assert!(matches!(err.kind(), Error::NotARegularFile), "{err}");
        let dir = test_dir("io-oversized");
        let path = dir.join("big.safetensors");
        std::fs::write(&path, vec![0u8; 2 << 20]).unwrap();
        let err = load_safetensors(&mut small(1), &path).unwrap_err();
        assert!(matches!(err.kind(), Error::FileTooLarge { .. }), "{err}");
    }

    #[test]
    fn extras_are_saved_beside_the_weights_and_checked_on_load() {
        use crate::{
            data::Dataset, data::preprocess::MinMaxScaler, data::preprocess::StandardScaler,
        };
        let dir = test_dir("io-extras");
        let path = dir.join("net.safetensors");
        let data =
            Dataset::<f32, 3, usize>::from_row_arrays([([1.0, 2.0, 3.0], 0), ([2.0, 6.0, 3.0], 1)])
                .unwrap();
        let scaler = StandardScaler::fit(&data);
        let range = MinMaxScaler::fit(&data).unwrap();
        let net = small(1);
        save_safetensors_with(&net, &[("scaler", &scaler), ("range", &range)], &path).unwrap();
        let file_bytes = std::fs::read(&path).unwrap();
        let file = SafeTensors::deserialize(&file_bytes).unwrap();
        assert_eq!(file.tensor("scaler.mean").unwrap().shape(), &[3]);

        let mut loaded = small(2);
        let mut s = StandardScaler::identity();
        let mut r = MinMaxScaler::identity();
        load_safetensors_with(
            &mut loaded,
            &mut [("scaler", &mut s), ("range", &mut r)],
            &path,
        )
        .unwrap();
        assert_eq!((s, r), (scaler.clone(), range));
        assert_eq!(loaded.second().weight(), net.second().weight());

        // Plain loading refuses the extra tensors; a missing extra is named.
        let err = load_safetensors(&mut small(2), &path).unwrap_err();
        assert!(err.to_string().contains("range.min"), "{err}");
        save_safetensors(&net, &path).unwrap();
        let mut s = StandardScaler::<f32, 3>::identity();
        let err =
            load_safetensors_with(&mut small(2), &mut [("scaler", &mut s)], &path).unwrap_err();
        assert!(
            err.to_string().contains("`scaler.mean` is missing"),
            "{err}"
        );
        // A scaler of another width is a shape error, and the network stays unchanged.
        save_safetensors_with(&net, &[("scaler", &scaler)], &path).unwrap();
        let mut wide = StandardScaler::<f32, 4>::identity();
        let mut untouched = small(2);
        let before = *untouched.second().weight();
        let err =
            load_safetensors_with(&mut untouched, &mut [("scaler", &mut wide)], &path).unwrap_err();
        assert!(err.to_string().contains("shape [3], expected [4]"), "{err}");
        assert_eq!(untouched.second().weight(), &before);
        // A zero scale is refused by the scaler, before the network is written.
        let zero = Linear::<1, 1>::zeros();
        let mut bad = StandardScaler::<f32, 1>::identity();
        let mut t = bad.clone();
        t.set_tensors(&[0.0], &[1.0]).unwrap();
        let bytes = to_safetensors_with(&zero, &[("s", &t)]).unwrap();
        let patched = {
            // Write a scale of 0 where the 1.0 is.
            let one = 1.0f32.to_le_bytes();
            let at = bytes.windows(4).rposition(|w| w == one).unwrap();
            let mut b = bytes.clone();
            b[at..at + 4].copy_from_slice(&0.0f32.to_le_bytes());
            b
        };
        std::fs::write(&path, patched).unwrap();
        let mut net1 = Linear::<1, 1>::zeros();
        let err = load_safetensors_with(&mut net1, &mut [("s", &mut bad)], &path).unwrap_err();
        assert!(matches!(err, Error::InvalidHyperparameter { .. }), "{err}");
        // Two extras of one name are refused when saving.
        assert!(to_safetensors_with(&zero, &[("s", &t), ("s", &t)]).is_err());
    }

    /// Regression: a network whose training diverged on its last update was saved to a
    /// file that `load_safetensors` then refused.
    #[test]
    fn non_finite_weights_are_not_saved() {
        let dir = test_dir("io-non-finite");
        let path = dir.join("net.safetensors");
        let mut net = small(1);
        net.second_mut().weight_mut()[(1, 2)] = f32::INFINITY;
        let err = save_safetensors(&net, &path).unwrap_err();
        assert!(err.to_string().contains("2.weight"), "{err}");
        assert!(err.to_string().contains("row 1, column 2"), "{err}");
        assert!(!path.exists());
    }
}
