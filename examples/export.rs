//! Writes a trained network's weights as Rust source: `static` matrices (in read-only memory
//! on a microcontroller) and a function that builds the network from them out of
//! [`StaticLinear`](constnet::nn::StaticLinear) layers, for `no_std` inference with no heap.
//!
//! `cargo run --example export -- model.safetensors [--activation relu|tanh|sigmoid] > model.rs`
//! reads a file written by `--save` of the MNIST example (or any `save_safetensors` of a chain
//! of `Linear` layers with one activation between each two): layer `k` as `k.weight` and
//! `k.bias`. Activations are not stored in the file, so `--activation` names the one between
//! the layers. Values are written in Rust's shortest round-trip form: the statics hold the
//! very bits of the file.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use safetensors::tensor::{Dtype, SafeTensors};

const HELP: &str = "\
Write a trained network's weights as Rust statics and a network built from them.

Usage: cargo run --example export -- PATH [--activation relu|tanh|sigmoid] > model.rs";

/// One `Linear` layer of the file: its position, sizes and values.
struct Dense {
    position: usize,
    inputs: usize,
    outputs: usize,
    /// Row-major (PyTorch's `out × in`).
    weight: Vec<String>,
    bias: Vec<String>,
}

fn main() -> ExitCode {
    match run() {
        Ok(source) => {
            print!("{source}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<String, Box<dyn std::error::Error>> {
    use lexopt::prelude::*;
    let mut path: Option<PathBuf> = None;
    let mut activation = String::from("relu");
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("activation") => activation = parser.value()?.string()?,
            Short('h') | Long("help") => {
                println!("{HELP}");
                std::process::exit(0);
            }
            Value(v) if path.is_none() => path = Some(v.into()),
            _ => return Err(arg.unexpected().into()),
        }
    }
    let path = path.ok_or("give the safetensors file to export (see --help)")?;
    let layer = match activation.as_str() {
        "relu" => "Relu",
        "tanh" => "Tanh",
        "sigmoid" => "Sigmoid",
        other => {
            return Err(
                format!("--activation: unknown `{other}`, expected relu, tanh or sigmoid").into(),
            );
        }
    };
    let bytes = read_bounded(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file = SafeTensors::deserialize(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    let (scalar, layers) = dense_layers(&file).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(source(&path, scalar, layer, &layers))
}

/// The largest file read (a network of 16 million values in f64 is 128 MB).
const FILE_LIMIT: u64 = 256 << 20;
/// The most values in one layer: its source is about 20 bytes a value.
const LAYER_LIMIT: usize = 1 << 24;

/// The bytes of a regular file of at most [`FILE_LIMIT`] bytes: a FIFO or a device
/// (`/dev/zero`) is refused before it is opened, and no more than the limit is read.
fn read_bounded(path: &std::path::Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file (a device, a pipe or a folder)".into());
    }
    if meta.len() > FILE_LIMIT {
        return Err(format!("larger than the limit of {FILE_LIMIT} bytes"));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(FILE_LIMIT + 1).read_to_end(&mut bytes))
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > FILE_LIMIT {
        return Err(format!("larger than the limit of {FILE_LIMIT} bytes"));
    }
    Ok(bytes)
}

/// The `Linear` layers of the file, in order, checked to chain, and their scalar type.
fn dense_layers(file: &SafeTensors<'_>) -> Result<(&'static str, Vec<Dense>), String> {
    let mut positions: Vec<usize> = Vec::new();
    for name in file.names() {
        let (position, kind) = name
            .split_once('.')
            .and_then(|(p, k)| Some((p.parse::<usize>().ok()?, k)))
            .ok_or_else(|| format!("tensor `{name}` is not `K.weight` or `K.bias`"))?;
        if !["weight", "bias"].contains(&kind) {
            return Err(format!("tensor `{name}` is not `K.weight` or `K.bias`"));
        }
        if !positions.contains(&position) {
            positions.push(position);
        }
    }
    positions.sort_unstable();
    if positions.is_empty() {
        return Err("no tensors".into());
    }
    let mut scalar = None;
    let mut layers: Vec<Dense> = Vec::new();
    for &position in &positions {
        let weight = file
            .tensor(&format!("{position}.weight"))
            .map_err(|_| format!("`{position}.weight` is missing"))?;
        let bias = file
            .tensor(&format!("{position}.bias"))
            .map_err(|_| format!("`{position}.bias` is missing"))?;
        let &[outputs, inputs] = weight.shape() else {
            return Err(format!(
                "`{position}.weight` has shape {:?}, expected [out, in]",
                weight.shape()
            ));
        };
        let count = outputs.saturating_mul(inputs);
        if outputs == 0 || inputs == 0 || count > LAYER_LIMIT {
            return Err(format!(
                "`{position}.weight` has shape [{outputs}, {inputs}]: a layer needs at least one \
                 input and output, and at most {LAYER_LIMIT} values"
            ));
        }
        if bias.shape() != [outputs] {
            return Err(format!(
                "`{position}.bias` has shape {:?}, expected [{outputs}]",
                bias.shape()
            ));
        }
        let dtype = weight.dtype();
        if bias.dtype() != dtype {
            return Err(format!("`{position}.weight` and `.bias` differ in type"));
        }
        let this = match dtype {
            Dtype::F32 => "f32",
            Dtype::F64 => "f64",
            other => {
                return Err(format!(
                    "`{position}.weight` holds {other}, expected F32 or F64"
                ));
            }
        };
        if *scalar.get_or_insert(this) != this {
            return Err("the layers differ in scalar type".into());
        }
        if let Some(last) = layers.last() {
            if last.position.checked_add(2) != Some(position) {
                return Err(format!(
                    "layers {} and {position} are not two apart: exactly one activation between \
                     two layers can be exported",
                    last.position
                ));
            }
            if inputs != last.outputs {
                return Err(format!(
                    "layer {position} takes {inputs} inputs, layer {} gives {}",
                    last.position, last.outputs
                ));
            }
        }
        layers.push(Dense {
            position,
            inputs,
            outputs,
            weight: values(weight.data(), this)?,
            bias: values(bias.data(), this)?,
        });
    }
    Ok((scalar.unwrap_or("f32"), layers))
}

/// Little-endian values in Rust's shortest round-trip form (with a decimal point).
fn values(data: &[u8], scalar: &str) -> Result<Vec<String>, String> {
    let text = |v: f64, s: String| {
        if v.is_finite() {
            Ok(s)
        } else {
            Err("a non-finite value".to_string())
        }
    };
    if scalar == "f32" {
        data.chunks_exact(4)
            .map(|b| {
                let v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                text(v.into(), format!("{v:?}"))
            })
            .collect()
    } else {
        data.chunks_exact(8)
            .map(|b| {
                let v = f64::from_le_bytes(b.try_into().expect("8 bytes"));
                text(v, format!("{v:?}"))
            })
            .collect()
    }
}

fn source(path: &std::path::Path, scalar: &str, activation: &str, layers: &[Dense]) -> String {
    let shape: Vec<String> = std::iter::once(layers[0].inputs)
        .chain(layers.iter().map(|l| l.outputs))
        .map(|n| n.to_string())
        .collect();
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let mut out = String::new();
    let _ = writeln!(
        out,
        "//! A {} network ({}), exported from `{name}` by `cargo run --example export`.\n\
         //! Generated: edit the training, not this file.\n\n\
         use constnet::nalgebra::{{ArrayStorage, SMatrix, SVector}};\n\
         use constnet::nn::{{Chain, StaticLinear, {activation}}};\n",
        shape.join("-"),
        activation.to_lowercase()
    );
    for l in layers {
        let (i, o, k) = (l.inputs, l.outputs, l.position);
        // Column-major: column c holds the weights from input c to every output.
        let _ = writeln!(out, "/// Layer {k}'s weights, {o}×{i}, column-major.");
        let _ = write!(
            out,
            "pub static W{k}: SMatrix<{scalar}, {o}, {i}> = SMatrix::from_array_storage(ArrayStorage(["
        );
        for c in 0..i {
            let column: Vec<&str> = (0..o).map(|r| l.weight[r * i + c].as_str()).collect();
            let _ = write!(out, "\n    [{}],", column.join(", "));
        }
        let _ = writeln!(out, "\n]));");
        let _ = writeln!(out, "/// Layer {k}'s biases.");
        let _ = writeln!(
            out,
            "pub static B{k}: SVector<{scalar}, {o}> = SVector::from_array_storage(ArrayStorage([[{}]]));\n",
            l.bias.join(", ")
        );
    }
    // The type, built up as `seq!` builds the value: ((L0, A), L2), A), L4) ...
    let mut ty = format!(
        "StaticLinear<'static, {}, {}, {scalar}>",
        layers[0].inputs, layers[0].outputs
    );
    let mut value = format!("StaticLinear::new(&W{0}, &B{0})", layers[0].position);
    for l in &layers[1..] {
        ty = format!(
            "Chain<Chain<{ty}, {activation}, {i}>, StaticLinear<'static, {i}, {o}, {scalar}>, {i}>",
            i = l.inputs,
            o = l.outputs
        );
        value = format!(
            "Chain::new(Chain::new({value}, {activation}), StaticLinear::new(&W{k}, &B{k}))",
            k = l.position
        );
    }
    let _ = writeln!(out, "/// The network's type.\npub type Network = {ty};\n");
    let _ = writeln!(
        out,
        "/// The network, its weights borrowed from the statics above: no heap.\n\
         pub const fn network() -> Network {{\n    {value}\n}}"
    );
    out
}
