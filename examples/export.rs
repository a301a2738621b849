//! Writes a trained network's weights as Rust source: `static` matrices (in read-only memory
//! on a microcontroller) and a function that builds the network from them out of
//! [`StaticLinear`](constnet::nn::StaticLinear) and
//! [`StaticConv2d`](constnet::nn::StaticConv2d) layers, for `no_std` inference with no heap.
//!
//! A convolutional network names its input shape and its layers, since activations, pooling
//! and `Flatten` are not stored in the file:
//! `cargo run --example export -- cnn.safetensors --input 1,28,28 --layers
//! conv,relu,maxpool2,conv,relu,maxpool2,flatten,linear,relu,linear > cnn.rs` (the `mnist_cnn`
//! example's network). Layer `k` of the list is at position `k` of the file; `conv` takes its
//! channels and kernel from its tensors (`conv/s2/p1` for stride 2 and padding 1), `maxpoolK`
//! and `avgpoolK` (`maxpool3/s2` with a stride) pool, `relu`, `tanh` and `sigmoid` activate.
//!
//! `cargo run --example export -- model.safetensors [--activation relu|tanh|sigmoid] > model.rs`
//! reads a file written by `--save` of the MNIST example (or any `save_safetensors` of a chain
//! of `Linear` layers with one activation between each two): layer `k` as `k.weight` and
//! `k.bias`. Activations are not stored in the file, so `--activation` names the one between
//! the layers. Values are written in Rust's shortest round-trip form: the statics hold the
//! very bits of the file.

#[path = "common/mnist_nets.rs"]
mod nets;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use safetensors::tensor::{Dtype, SafeTensors};

const HELP: &str = "\
Write a trained network's weights as Rust statics and a network built from them.

Usage: cargo run --example export -- PATH [--activation relu|tanh|sigmoid] > model.rs
       cargo run --example export -- PATH --input C,H,W --layers LAYER,LAYER,... > model.rs
       cargo run --example export -- PATH --onnx MODEL.onnx

--onnx writes an ONNX model (opset 18, dynamic batch) of a file saved by the mnist or
mnist_cnn example, whose metadata names its network: no other flag is needed.

Layers: conv[/sS][/pP], maxpoolK[/sS], avgpoolK[/sS], relu, tanh, sigmoid, flatten, linear";

/// One `Linear` layer of the file: its position, sizes and values.
pub(crate) struct Dense {
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
    let (mut input, mut layers, mut onnx) = (None, None, None);
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("activation") => activation = parser.value()?.string()?,
            Long("input") => input = Some(parser.value()?.string()?),
            Long("layers") => layers = Some(parser.value()?.string()?),
            Long("onnx") => onnx = Some(PathBuf::from(parser.value()?)),
            Short('h') | Long("help") => {
                println!("{HELP}");
                std::process::exit(0);
            }
            Value(v) if path.is_none() => path = Some(v.into()),
            _ => return Err(arg.unexpected().into()),
        }
    }
    let path = path.ok_or("give the safetensors file to export (see --help)")?;
    if let Some(onnx) = onnx {
        if input.is_some() || layers.is_some() {
            return Err(
                "--onnx takes the network from the file: leave out --input and --layers".into(),
            );
        }
        return to_onnx(&path, &onnx);
    }
    if input.is_some() || layers.is_some() {
        let (Some(input), Some(layers)) = (input, layers) else {
            return Err("--input and --layers go together (see --help)".into());
        };
        let bytes = read_bounded(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let file =
            SafeTensors::deserialize(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        return cnn::source(&path, &file, &input, &layers)
            .map_err(|e| format!("{}: {e}", path.display()).into());
    }
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

/// `--onnx`: rebuilds the network that the file's metadata names (the flags `mnist --save`
/// records, or `mnist_cnn`'s network), loads the weights, and writes the ONNX model with the
/// file's own metadata entries.
fn to_onnx(
    path: &std::path::Path,
    onnx: &std::path::Path,
) -> Result<String, Box<dyn std::error::Error>> {
    use constnet::io;
    let meta = io::read_metadata(path)?;
    let entries: Vec<(&str, &str)> = meta
        .entries
        .iter()
        .filter(|(k, _)| !k.starts_with("constnet.") && k.as_str() != "format")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let cnn = || <nets::Cnn as constnet::nn::Build>::init(&mut rand_seed());
    let cnn_lines = || -> Result<Vec<String>, constnet::Error> {
        Ok(io::metadata_of(&io::to_safetensors(&cnn())?)?.layers)
    };
    let (network, bytes) = if let Some(flags) = meta.entries.get(nets::ARCHITECTURE) {
        let architecture = nets::Architecture::from_flags(flags)
            .map_err(|e| format!("{}: {}: {e}", path.display(), nets::ARCHITECTURE))?;
        let mut net = architecture.build(0)?;
        io::load_safetensors(&mut net, path)?;
        (flags.clone(), io::to_onnx_described(&net, &entries)?)
    } else if meta.entries.contains_key(nets::CNN_ARCHITECTURE)
        || meta.layers == cnn_lines()?
        || (meta.layers.is_empty() && io::load_safetensors(&mut cnn(), path).is_ok())
    {
        // The CNN by its entry, by its layers, or (a file of an older version, without
        // metadata) by its tensors' names and shapes.
        let mut net = cnn();
        io::load_safetensors(&mut net, path)?;
        (
            nets::CNN_DESCRIPTION.to_string(),
            io::to_onnx_described(&net, &entries)?,
        )
    } else {
        return Err(format!(
            "{}: its metadata does not name a network of the mnist or mnist_cnn example \
             (no `{}` entry), so --onnx cannot rebuild it",
            path.display(),
            nets::ARCHITECTURE
        )
        .into());
    };
    constnet::io::write_atomic(onnx, &bytes)?;
    let model = io::onnx::inspect(&bytes)?;
    Ok(format!(
        "wrote {} ({} bytes, opset {}, {} nodes: {}) for the network {network}\n",
        onnx.display(),
        bytes.len(),
        model.opset,
        model.operators.len(),
        model.operators.join(" ")
    ))
}

/// The generator the networks are built with before their weights are loaded.
fn rand_seed() -> constnet::rand::rngs::StdRng {
    <constnet::rand::rngs::StdRng as constnet::rand::SeedableRng>::seed_from_u64(0)
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
pub(crate) fn dense_layers(file: &SafeTensors<'_>) -> Result<(&'static str, Vec<Dense>), String> {
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

/// The statics of a dense layer at position `k`: its `o×i` weights (row-major in `weight`,
/// PyTorch's layout) as a column-major `SMatrix`, and its biases as an `SVector`.
fn linear_statics(
    out: &mut String,
    k: usize,
    scalar: &str,
    o: usize,
    i: usize,
    weight: &[String],
    bias: &[String],
) {
    // Column-major: column c holds the weights from input c to every output.
    let _ = writeln!(out, "/// Layer {k}'s weights, {o}×{i}, column-major.");
    let _ = write!(
        out,
        "pub static W{k}: SMatrix<{scalar}, {o}, {i}> = SMatrix::from_array_storage(ArrayStorage(["
    );
    for c in 0..i {
        let column: Vec<&str> = (0..o).map(|r| weight[r * i + c].as_str()).collect();
        let _ = write!(out, "\n    [{}],", column.join(", "));
    }
    let _ = writeln!(out, "\n]));");
    let _ = writeln!(out, "/// Layer {k}'s biases.");
    let _ = writeln!(
        out,
        "pub static B{k}: SVector<{scalar}, {o}> = SVector::from_array_storage(ArrayStorage([[{}]]));\n",
        bias.join(", ")
    );
}

pub(crate) fn source(
    path: &std::path::Path,
    scalar: &str,
    activation: &str,
    layers: &[Dense],
) -> String {
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
        linear_statics(
            &mut out, l.position, scalar, l.outputs, l.inputs, &l.weight, &l.bias,
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

/// Convolutional networks: `--input` and `--layers`.
pub(crate) mod cnn {
    use std::fmt::Write as _;

    use safetensors::tensor::{Dtype, SafeTensors};

    use super::{LAYER_LIMIT, values};

    /// A sample's shape: channels, height, width (a flat vector is `1 x 1 x n`).
    #[derive(Clone, Copy)]
    struct Shape {
        c: usize,
        h: usize,
        w: usize,
        flat: bool,
    }

    impl Shape {
        fn len(&self) -> usize {
            self.c * self.h * self.w
        }
    }

    /// `conv/s2/p1` → ("conv", stride 2, padding 1); `maxpool3/s2` → ("maxpool", 3, stride 2).
    fn parse_layer(text: &str) -> Result<(String, usize, usize, usize), String> {
        let mut parts = text.split('/');
        let head = parts.next().unwrap_or_default();
        let digits = head.trim_start_matches(|c: char| c.is_ascii_alphabetic());
        let name = &head[..head.len() - digits.len()];
        let window = if digits.is_empty() {
            0
        } else {
            digits.parse().map_err(|_| format!("layer `{text}`"))?
        };
        let (mut stride, mut padding) = (None, 0);
        for option in parts {
            let (key, value) = option.split_at(option.len().min(1));
            let value: usize = value
                .parse()
                .map_err(|_| format!("layer `{text}`: `/{option}` is not /sN or /pN"))?;
            match key {
                "s" => stride = Some(value),
                "p" => padding = value,
                _ => return Err(format!("layer `{text}`: `/{option}` is not /sN or /pN")),
            }
        }
        let stride = stride.unwrap_or(if name == "conv" { 1 } else { window });
        if stride == 0 && ["conv", "maxpool", "avgpool"].contains(&name) {
            return Err(format!("layer `{text}`: a stride of 0"));
        }
        Ok((name.to_string(), window, stride, padding))
    }

    fn side(n: usize, k: usize, s: usize, p: usize, text: &str) -> Result<usize, String> {
        if k == 0 || k > n + 2 * p {
            return Err(format!(
                "layer `{text}`: a window of {k} does not fit {n} (padding {p})"
            ));
        }
        Ok((n + 2 * p - k) / s + 1)
    }

    /// The source of the network of `layers` on inputs of shape `input`, its weights from
    /// `file`.
    pub(crate) fn source(
        path: &std::path::Path,
        file: &SafeTensors<'_>,
        input: &str,
        layers: &str,
    ) -> Result<String, String> {
        let dims: Vec<usize> = input
            .split(',')
            .map(|d| {
                d.trim()
                    .parse()
                    .map_err(|_| format!("--input {input}: expected C,H,W"))
            })
            .collect::<Result<_, _>>()?;
        let &[c, h, w] = &dims[..] else {
            return Err(format!("--input {input}: expected C,H,W"));
        };
        if c == 0 || h == 0 || w == 0 || c.saturating_mul(h).saturating_mul(w) > LAYER_LIMIT {
            return Err(format!(
                "--input {input}: each side at least 1, at most {LAYER_LIMIT} values"
            ));
        }
        let mut shape = Shape {
            c,
            h,
            w,
            flat: false,
        };
        let mut used = Vec::new();
        let (mut statics, mut ty, mut value) = (String::new(), String::new(), String::new());
        let mut scalar: Option<&'static str> = None;
        for (k, text) in layers.split(',').map(str::trim).enumerate() {
            let (name, window, stride, padding) = parse_layer(text)?;
            let before = shape;
            let (layer_ty, layer_value) = match name.as_str() {
                "conv" => {
                    if before.flat {
                        return Err(format!("layer {k} (`{text}`) comes after a flat vector"));
                    }
                    let weight = file
                        .tensor(&format!("{k}.weight"))
                        .map_err(|_| format!("`{k}.weight` is missing"))?;
                    let &[f, ci, kh, kw] = weight.shape() else {
                        return Err(format!(
                            "`{k}.weight` has shape {:?}, expected [out, in, k, k]",
                            weight.shape()
                        ));
                    };
                    if ci != before.c
                        || kh != kw
                        || f == 0
                        || f.saturating_mul(ci).saturating_mul(kh).saturating_mul(kw) > LAYER_LIMIT
                    {
                        return Err(format!(
                            "`{k}.weight` has shape {:?}: layer {k} takes {} channels with a square kernel",
                            weight.shape(),
                            before.c
                        ));
                    }
                    let this = dtype(weight.dtype(), k)?;
                    check_scalar(&mut scalar, this)?;
                    let bias = file.tensor(&format!("{k}.bias")).ok();
                    if let Some(b) = &bias
                        && (b.shape() != [f] || b.dtype() != weight.dtype())
                    {
                        return Err(format!(
                            "`{k}.bias` has shape {:?}, expected [{f}] of the weight's type",
                            b.shape()
                        ));
                    }
                    let (oh, ow) = (
                        side(before.h, kh, stride, padding, text)?,
                        side(before.w, kw, stride, padding, text)?,
                    );
                    shape = Shape {
                        c: f,
                        h: oh,
                        w: ow,
                        flat: false,
                    };
                    let weights = values(weight.data(), this)?;
                    let _ = writeln!(
                        statics,
                        "/// Layer {k}'s filters, [{f}, {ci}, {kh}, {kw}] row-major (PyTorch's layout)."
                    );
                    let _ = writeln!(
                        statics,
                        "pub static W{k}: [{this}; {}] = [{}];",
                        weights.len(),
                        weights.join(", ")
                    );
                    let biases = match &bias {
                        Some(b) => values(b.data(), this)?,
                        None => Vec::new(),
                    };
                    let _ = writeln!(statics, "/// Layer {k}'s biases.");
                    let _ = writeln!(
                        statics,
                        "pub static B{k}: [{this}; {}] = [{}];\n",
                        biases.len(),
                        biases.join(", ")
                    );
                    used.extend([format!("{k}.weight"), format!("{k}.bias")]);
                    (
                        format!(
                            "StaticConv2d<'static, {ci}, {f}, {kh}, {stride}, {padding}, {}, {}, {}, {}, {}, {this}>",
                            before.h,
                            before.w,
                            before.len(),
                            shape.len(),
                            bias.is_some()
                        ),
                        format!("StaticConv2d::new(&W{k}, &B{k})"),
                    )
                }
                "maxpool" | "avgpool" => {
                    if before.flat {
                        return Err(format!("layer {k} (`{text}`) comes after a flat vector"));
                    }
                    let (oh, ow) = (
                        side(before.h, window, stride, 0, text)?,
                        side(before.w, window, stride, 0, text)?,
                    );
                    shape = Shape {
                        c: before.c,
                        h: oh,
                        w: ow,
                        flat: false,
                    };
                    let kind = if name == "maxpool" {
                        "MaxPool2d"
                    } else {
                        "AvgPool2d"
                    };
                    (
                        format!(
                            "{kind}<{window}, {stride}, {}, {}, {}, {}>",
                            before.h,
                            before.w,
                            before.len(),
                            shape.len()
                        ),
                        kind.to_string(),
                    )
                }
                "flatten" => {
                    shape = Shape {
                        c: 1,
                        h: 1,
                        w: before.len(),
                        flat: true,
                    };
                    ("Flatten".to_string(), "Flatten".to_string())
                }
                "relu" | "tanh" | "sigmoid" => {
                    let kind = match name.as_str() {
                        "relu" => "Relu",
                        "tanh" => "Tanh",
                        _ => "Sigmoid",
                    };
                    (kind.to_string(), kind.to_string())
                }
                "linear" => {
                    let weight = file
                        .tensor(&format!("{k}.weight"))
                        .map_err(|_| format!("`{k}.weight` is missing"))?;
                    let bias = file
                        .tensor(&format!("{k}.bias"))
                        .map_err(|_| format!("`{k}.bias` is missing"))?;
                    let &[o, i] = weight.shape() else {
                        return Err(format!(
                            "`{k}.weight` has shape {:?}, expected [out, in]",
                            weight.shape()
                        ));
                    };
                    if i != before.len()
                        || o == 0
                        || o.saturating_mul(i) > LAYER_LIMIT
                        || bias.shape() != [o]
                    {
                        return Err(format!(
                            "`{k}.weight` has shape {:?}: layer {k} takes {} values",
                            weight.shape(),
                            before.len()
                        ));
                    }
                    let this = dtype(weight.dtype(), k)?;
                    check_scalar(&mut scalar, this)?;
                    if bias.dtype() != weight.dtype() {
                        return Err(format!("`{k}.weight` and `.bias` differ in type"));
                    }
                    shape = Shape {
                        c: 1,
                        h: 1,
                        w: o,
                        flat: true,
                    };
                    let (weights, biases) =
                        (values(weight.data(), this)?, values(bias.data(), this)?);
                    super::linear_statics(&mut statics, k, this, o, i, &weights, &biases);
                    used.extend([format!("{k}.weight"), format!("{k}.bias")]);
                    (
                        format!("StaticLinear<'static, {i}, {o}, {this}>"),
                        format!("StaticLinear::new(&W{k}, &B{k})"),
                    )
                }
                _ => return Err(format!("layer {k}: unknown `{text}` (see --help)")),
            };
            if k == 0 {
                ty = layer_ty;
                value = layer_value;
            } else {
                ty = format!("Chain<{ty}, {layer_ty}, {}>", before.len());
                value = format!("Chain::new({value}, {layer_value})");
            }
        }
        if let Some(extra) = file
            .names()
            .into_iter()
            .find(|n| !used.iter().any(|u| u == *n))
        {
            return Err(format!(
                "tensor `{extra}` belongs to no `conv` or `linear` of --layers"
            ));
        }
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let mut out = String::new();
        let _ = writeln!(
            out,
            "//! A convolutional network ({input} -> {layers}), exported from `{name}` by `cargo run --example export`.\n\
             //! Generated: edit the training, not this file.\n\n\
             #[allow(unused_imports)]\n\
             use constnet::nalgebra::{{ArrayStorage, SMatrix, SVector}};\n\
             #[allow(unused_imports)]\n\
             use constnet::nn::{{AvgPool2d, Chain, Flatten, MaxPool2d, Relu, Sigmoid, StaticConv2d, StaticLinear, Tanh}};\n"
        );
        out.push_str(&statics);
        let _ = writeln!(out, "/// The network's type.\npub type Network = {ty};\n");
        let _ = writeln!(
            out,
            "/// The network, its weights borrowed from the statics above: no heap.\n\
             pub const fn network() -> Network {{\n    {value}\n}}"
        );
        Ok(out)
    }

    fn dtype(dtype: Dtype, k: usize) -> Result<&'static str, String> {
        match dtype {
            Dtype::F32 => Ok("f32"),
            Dtype::F64 => Ok("f64"),
            other => Err(format!("`{k}.weight` holds {other}, expected F32 or F64")),
        }
    }

    fn check_scalar(scalar: &mut Option<&'static str>, this: &'static str) -> Result<(), String> {
        if *scalar.get_or_insert(this) == this {
            Ok(())
        } else {
            Err("the layers differ in scalar type".into())
        }
    }
}
