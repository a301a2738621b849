//! ONNX export: a network as an ONNX model (opset 18, a dynamic batch dimension, its tensors
//! under their safetensors names) that ONNX Runtime, Triton, `onnxruntime-web`, burn and
//! candle run.
//!
//! Each layer writes its own nodes through [`Layer::to_onnx`]: a [`Graph`] holds the nodes
//! written so far and the value that flows on, with its shape. The layers of this crate
//! all have an ONNX form; a layer of your own gets one by implementing `to_onnx` (without
//! it, export is [`Error::NotExportable`], naming the layer).
//!
//! | constnet | ONNX |
//! |---|---|
//! | `Linear`, `StaticLinear` | `Gemm` (`transB = 1`) |
//! | `Conv2d`, `Conv1d`, `StaticConv2d` | `Conv` |
//! | `MaxPool2d`, `MaxPool1d` / `AvgPool2d`, `AvgPool1d` | `MaxPool` / `AveragePool` |
//! | `Flatten` | `Flatten` (`axis = 1`) |
//! | `Relu`, `LeakyRelu`, `Tanh`, `Sigmoid`, `Softmax` | the operator of the same name |
//! | `BatchNorm1d`, `BatchNorm2d` | `BatchNormalization` (running statistics) |
//! | `LayerNorm` | `LayerNormalization` (`axis = -1`) |
//! | `Residual` | its inner layers, then `Add` |
//! | `Dropout` | nothing (inference passes values through) |
//!
//! The model's input `input` is `[batch, C, H, W]` (or `[batch, C, L]`) when the first layer
//! sees images (or signals), else `[batch, I]`; its output `output` is `[batch, O]`, like
//! [`Layer::forward`]. Where a layer needs another view of the same values (a `Linear` after
//! a convolution without `Flatten`), a `Flatten` or `Reshape` node is put in; it moves no
//! values, since both sides store a sample channel-major (PyTorch's layout). The model's
//! `metadata_props` hold what a weights file's metadata holds ([`Metadata`](crate::io::Metadata)).
//!
//! The encoding is [prost](https://docs.rs/prost)'s, on message structs written here for the
//! fields this exporter writes (no `protoc`, no build script).
//!
//! # Example
//! ```
//! use constnet::{Net, io::onnx, nn::{Build, Linear, Relu}};
//! use constnet::rand::{SeedableRng, rngs::StdRng};
//!
//! let net = <Net![Linear<4, 8>, Relu, Linear<8, 3>]>::init(&mut StdRng::seed_from_u64(0));
//! let bytes = onnx::to_onnx(&net)?;
//! let model = onnx::inspect(&bytes)?;
//! assert_eq!(model.operators, ["Gemm", "Relu", "Gemm"]);
//! assert_eq!(model.initializers, ["0.weight", "0.bias", "2.weight", "2.bias"]);
//! # Ok::<(), constnet::Error>(())
//! ```

use std::collections::BTreeSet;
use std::marker::PhantomData;
use std::path::Path as FilePath;

use prost::Message;

use crate::error::{Error, WeightsProblem};
use crate::io::metadata::metadata_for;
use crate::io::record::to_row_major;
use crate::nn::layer::LayerInfo;
use crate::nn::param::{Path, Role};
use crate::{base::scalar::Scalar, nn::layer::Layer};

/// The ONNX operator set the models use: 18, the default of PyTorch's exporter; every
/// operator used here is in it (`LayerNormalization` came in 17).
pub const OPSET: i64 = 18;
/// The IR version of [`OPSET`]'s release (ONNX 1.13).
const IR_VERSION: i64 = 8;
/// ONNX's element types.
const FLOAT: i32 = 1;
const INT64: i32 = 7;
const DOUBLE: i32 = 11;

/// The messages of `onnx.proto` this exporter writes, with the fields it needs; the field
/// numbers are those of the ONNX specification. A `oneof` of the specification is written
/// as optional fields of the same numbers, which is the same on the wire.
mod proto {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Model {
        #[prost(int64, tag = "1")]
        pub ir_version: i64,
        #[prost(string, tag = "2")]
        pub producer_name: String,
        #[prost(string, tag = "3")]
        pub producer_version: String,
        #[prost(string, tag = "6")]
        pub doc_string: String,
        #[prost(message, optional, tag = "7")]
        pub graph: Option<Graph>,
        #[prost(message, repeated, tag = "8")]
        pub opset_import: Vec<OperatorSetId>,
        #[prost(message, repeated, tag = "14")]
        pub metadata_props: Vec<StringStringEntry>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct OperatorSetId {
        #[prost(string, tag = "1")]
        pub domain: String,
        #[prost(int64, tag = "2")]
        pub version: i64,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct StringStringEntry {
        #[prost(string, tag = "1")]
        pub key: String,
        #[prost(string, tag = "2")]
        pub value: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Graph {
        #[prost(message, repeated, tag = "1")]
        pub node: Vec<Node>,
        #[prost(string, tag = "2")]
        pub name: String,
        #[prost(message, repeated, tag = "5")]
        pub initializer: Vec<Tensor>,
        #[prost(message, repeated, tag = "11")]
        pub input: Vec<ValueInfo>,
        #[prost(message, repeated, tag = "12")]
        pub output: Vec<ValueInfo>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Node {
        #[prost(string, repeated, tag = "1")]
        pub input: Vec<String>,
        #[prost(string, repeated, tag = "2")]
        pub output: Vec<String>,
        #[prost(string, tag = "3")]
        pub name: String,
        #[prost(string, tag = "4")]
        pub op_type: String,
        #[prost(message, repeated, tag = "5")]
        pub attribute: Vec<Attribute>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Attribute {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(float, optional, tag = "2")]
        pub f: Option<f32>,
        #[prost(int64, optional, tag = "3")]
        pub i: Option<i64>,
        #[prost(int64, repeated, tag = "8")]
        pub ints: Vec<i64>,
        /// `AttributeType`: 1 float, 2 int, 7 ints.
        #[prost(int32, tag = "20")]
        pub r#type: i32,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Tensor {
        #[prost(int64, repeated, tag = "1")]
        pub dims: Vec<i64>,
        #[prost(int32, tag = "2")]
        pub data_type: i32,
        #[prost(string, tag = "8")]
        pub name: String,
        /// Little-endian values, row-major.
        #[prost(bytes = "vec", tag = "9")]
        pub raw_data: Vec<u8>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ValueInfo {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(message, optional, tag = "2")]
        pub r#type: Option<Type>,
    }

    /// `TypeProto`, its `oneof value` holding a tensor type.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Type {
        #[prost(message, optional, tag = "1")]
        pub tensor_type: Option<TensorType>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TensorType {
        #[prost(int32, tag = "1")]
        pub elem_type: i32,
        #[prost(message, optional, tag = "2")]
        pub shape: Option<TensorShape>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TensorShape {
        #[prost(message, repeated, tag = "1")]
        pub dim: Vec<Dimension>,
    }

    /// A dimension: a size (`dim_value`) or a name (`dim_param`), its `oneof`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Dimension {
        #[prost(int64, optional, tag = "1")]
        pub dim_value: Option<i64>,
        #[prost(string, optional, tag = "2")]
        pub dim_param: Option<String>,
    }
}

/// An attribute of an ONNX node (`kernel_shape`, `epsilon`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute(proto::Attribute);

impl Attribute {
    /// A whole number.
    pub fn int(name: &str, value: i64) -> Self {
        Attribute(proto::Attribute {
            name: name.into(),
            i: Some(value),
            r#type: 2,
            ..Default::default()
        })
    }

    /// A list of whole numbers.
    pub fn ints(name: &str, values: &[i64]) -> Self {
        Attribute(proto::Attribute {
            name: name.into(),
            ints: values.to_vec(),
            r#type: 7,
            ..Default::default()
        })
    }

    /// A number (ONNX keeps attributes in `f32`).
    pub fn float(name: &str, value: f64) -> Self {
        Attribute(proto::Attribute {
            name: name.into(),
            f: Some(value as f32),
            r#type: 1,
            ..Default::default()
        })
    }
}

/// The ONNX graph of a network as its layers write it ([`Layer::to_onnx`]): the nodes so far,
/// the initializers (parameter tensors), and the value that flows on, with its shape.
///
/// A layer's `to_onnx` typically puts its tensors in with [`Graph::params`], makes the value
/// the shape it needs ([`Graph::flatten`] or [`Graph::reshape`]) and appends its node with
/// [`Graph::node`], which takes the flowing value as the node's first input and makes the
/// node's output the flowing value.
#[derive(Debug)]
pub struct Graph<T> {
    nodes: Vec<proto::Node>,
    initializers: Vec<proto::Tensor>,
    names: BTreeSet<String>,
    value: String,
    dims: Vec<usize>,
    scalar: PhantomData<T>,
}

impl<T: Scalar> Graph<T> {
    fn new(dims: Vec<usize>) -> Self {
        Graph {
            nodes: Vec::new(),
            initializers: Vec::new(),
            names: BTreeSet::from([String::from("input")]),
            value: String::from("input"),
            dims,
            scalar: PhantomData,
        }
    }

    /// The name of the value that flows on (`input` before the first node).
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The shape of one sample of the flowing value, without the batch dimension: `[C, H, W]`,
    /// `[C, L]` or `[N]`.
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }

    /// Puts `layer`'s parameter tensors and running statistics in as initializers, under
    /// their safetensors names (`0.weight`), row-major, and returns the names in the order of
    /// [`Layer::visit_params`]. Counters ([`Role::Count`]) are left out: inference does not
    /// read them.
    pub fn params<L, const I: usize, const O: usize>(
        &mut self,
        layer: &L,
        at: &Path<'_>,
    ) -> Vec<String>
    where
        L: Layer<T, I, O> + ?Sized,
    {
        let mut names = Vec::new();
        layer.visit_params(at, &mut |p| {
            if p.role == Role::Count {
                return;
            }
            let name = p.full_name().to_string();
            let values = to_row_major(p.shape, p.value);
            self.initializers
                .push(tensor(&name, &p.shape.dims(), &values));
            names.push(name);
        });
        names
    }

    /// Makes the flowing value flat (`[batch, N]`), with a `Flatten` node if it is not.
    pub fn flatten(&mut self, at: &Path<'_>) {
        if self.dims.len() > 1 {
            let len = self.dims.iter().product();
            self.node(
                at,
                "Flatten",
                &[],
                vec![Attribute::int("axis", 1)],
                vec![len],
            );
        }
    }

    /// Gives the flowing value the sample shape `dims` (the same number of values), with a
    /// `Reshape` node if it has another.
    pub fn reshape(&mut self, at: &Path<'_>, dims: &[usize]) {
        if self.dims == dims {
            return;
        }
        if dims.len() == 1 {
            return self.flatten(at);
        }
        let shape = self.unique(&format!("{}/Reshape_shape", slashed(at)));
        let target: Vec<i64> = core::iter::once(-1)
            .chain(dims.iter().map(|&d| d as i64))
            .collect();
        self.initializers.push(proto::Tensor {
            dims: vec![target.len() as i64],
            data_type: INT64,
            name: shape.clone(),
            raw_data: target.iter().flat_map(|v| v.to_le_bytes()).collect(),
        });
        self.node(at, "Reshape", &[&shape], Vec::new(), dims.to_vec());
    }

    /// Appends the node `op` of the layer at `at`: its inputs are the flowing value and
    /// `inputs` (initializer names), its output becomes the flowing value, of sample shape
    /// `dims`.
    pub fn node(
        &mut self,
        at: &Path<'_>,
        op: &str,
        inputs: &[&str],
        attributes: Vec<Attribute>,
        dims: Vec<usize>,
    ) {
        let value = self.value.clone();
        self.node_of(at, op, &[&value], inputs, attributes, dims);
    }

    /// Appends an `Add` of the flowing value and `other` (a value of the same sample shape
    /// `dims`, made earlier): a residual connection.
    pub fn add(&mut self, at: &Path<'_>, other: &str, dims: &[usize]) {
        self.reshape(at, dims);
        let value = self.value.clone();
        self.node_of(at, "Add", &[other, &value], &[], Vec::new(), dims.to_vec());
    }

    fn node_of(
        &mut self,
        at: &Path<'_>,
        op: &str,
        values: &[&str],
        inputs: &[&str],
        attributes: Vec<Attribute>,
        dims: Vec<usize>,
    ) {
        let name = self.unique(&format!("{}/{op}", slashed(at)));
        let output = self.unique(&format!("{name}_output_0"));
        self.nodes.push(proto::Node {
            input: values
                .iter()
                .chain(inputs)
                .map(|s| String::from(*s))
                .collect(),
            output: vec![output.clone()],
            name,
            op_type: op.into(),
            attribute: attributes.into_iter().map(|a| a.0).collect(),
        });
        self.value = output;
        self.dims = dims;
    }

    /// `wanted`, or with a number after it if a name of the graph already has it.
    fn unique(&mut self, wanted: &str) -> String {
        let mut name = String::from(wanted);
        let mut k = 1;
        while self.names.contains(&name) {
            name = format!("{wanted}_{k}");
            k += 1;
        }
        self.names.insert(name.clone());
        name
    }
}

/// `1.inner.0` as `/1/inner/0`, PyTorch's exporter's node scope.
fn slashed(at: &Path<'_>) -> String {
    format!("/{}", at.to_string().replace('.', "/"))
}

/// An initializer of `T`s.
fn tensor<T: Scalar>(name: &str, dims: &[usize], values: &[T]) -> proto::Tensor {
    let single = size_of::<T>() == 4;
    let raw_data = if single {
        values
            .iter()
            .flat_map(|v| (v.as_f64() as f32).to_le_bytes())
            .collect()
    } else {
        values
            .iter()
            .flat_map(|v| v.as_f64().to_le_bytes())
            .collect()
    };
    proto::Tensor {
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: elem_type::<T>(),
        name: name.into(),
        raw_data,
    }
}

fn elem_type<T: Scalar>() -> i32 {
    if size_of::<T>() == 4 { FLOAT } else { DOUBLE }
}

/// A graph input or output of `T`s: a batch of any size, then `dims`.
fn value_info<T: Scalar>(name: &str, dims: &[usize]) -> proto::ValueInfo {
    let batch = proto::Dimension {
        dim_value: None,
        dim_param: Some("batch".into()),
    };
    let dim = core::iter::once(batch)
        .chain(dims.iter().map(|&d| proto::Dimension {
            dim_value: Some(d as i64),
            dim_param: None,
        }))
        .collect();
    proto::ValueInfo {
        name: name.into(),
        r#type: Some(proto::Type {
            tensor_type: Some(proto::TensorType {
                elem_type: elem_type::<T>(),
                shape: Some(proto::TensorShape { dim }),
            }),
        }),
    }
}

/// `net` as an ONNX model (the bytes of an `.onnx` file); its metadata is that of a weights
/// file of this crate ([`Metadata`](crate::io::Metadata)).
///
/// # Errors
/// [`Error::NotExportable`] if a layer has no ONNX form (a layer of your own without
/// [`Layer::to_onnx`], or an [`Elementwise`](crate::nn::Elementwise) activation).
pub fn to_onnx<T, N, const I: usize, const O: usize>(net: &N) -> Result<Vec<u8>, Error>
where
    T: Scalar,
    N: Layer<T, I, O> + ?Sized,
{
    to_onnx_described(net, &[])
}

/// [`to_onnx`], with `entries` (class names, feature names, settings) added to the model's
/// `metadata_props`.
///
/// # Errors
/// As [`to_onnx`]; and [`Error::Weights`] if an entry's key starts with `constnet.`.
pub fn to_onnx_described<T, N, const I: usize, const O: usize>(
    net: &N,
    entries: &[(&str, &str)],
) -> Result<Vec<u8>, Error>
where
    T: Scalar,
    N: Layer<T, I, O> + ?Sized,
{
    let mut first: Option<Vec<usize>> = None;
    net.describe(&Path::ROOT, &mut |info: LayerInfo| {
        first.get_or_insert(info.input_dims);
    });
    let input_dims = match first {
        Some(dims) if !dims.is_empty() => dims,
        _ => vec![I],
    };
    let mut graph = Graph::<T>::new(input_dims.clone());
    net.to_onnx(&Path::ROOT, &mut graph)?;
    // A last `Flatten`, if one is needed, takes the place after the last layer.
    graph.flatten(&Path::ROOT.next(net.depth()));
    if graph.nodes.is_empty() {
        // A network that passes its input through (a lone `Dropout`).
        graph.node(&Path::ROOT, "Identity", &[], Vec::new(), vec![O]);
    }
    let last = graph.value.clone();
    for node in &mut graph.nodes {
        for name in node.output.iter_mut().chain(node.input.iter_mut()) {
            if *name == last {
                *name = String::from("output");
            }
        }
    }
    let metadata_props = metadata_for(net, entries)?
        .into_iter()
        .map(|(key, value)| proto::StringStringEntry { key, value })
        .collect();
    let model = proto::Model {
        ir_version: IR_VERSION,
        producer_name: String::from("constnet"),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        doc_string: String::new(),
        graph: Some(proto::Graph {
            node: graph.nodes,
            name: String::from("constnet"),
            initializer: graph.initializers,
            input: vec![value_info::<T>("input", &input_dims)],
            output: vec![value_info::<T>("output", &[O])],
        }),
        opset_import: vec![proto::OperatorSetId {
            domain: String::new(),
            version: OPSET,
        }],
        metadata_props,
    };
    Ok(model.encode_to_vec())
}

/// Writes `net` as an ONNX model to `path`, atomically ([`write_atomic`](crate::io::write_atomic)).
///
/// # Errors
/// As [`to_onnx`], and [`Error::WithPath`] for a file that cannot be written.
pub fn save_onnx<T, N, const I: usize, const O: usize>(
    net: &N,
    path: impl AsRef<FilePath>,
) -> Result<(), Error>
where
    T: Scalar,
    N: Layer<T, I, O> + ?Sized,
{
    save_onnx_described(net, &[], path)
}

/// [`save_onnx`] with `entries` in the model's metadata, as [`to_onnx_described`].
///
/// # Errors
/// As [`to_onnx_described`] and [`save_onnx`].
pub fn save_onnx_described<T, N, const I: usize, const O: usize>(
    net: &N,
    entries: &[(&str, &str)],
    path: impl AsRef<FilePath>,
) -> Result<(), Error>
where
    T: Scalar,
    N: Layer<T, I, O> + ?Sized,
{
    let path = path.as_ref();
    let bytes = to_onnx_described(net, entries).map_err(|e| e.at(path))?;
    crate::io::fs::write_atomic(path, &bytes)
}

/// What an ONNX model holds, as [`inspect`] reads it: enough to check an export.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Summary {
    /// The operator set.
    pub opset: i64,
    /// Each node's operator, in order.
    pub operators: Vec<String>,
    /// Each node's name, in order (`/0/Gemm`).
    pub nodes: Vec<String>,
    /// The initializers' names, in order.
    pub initializers: Vec<String>,
    /// The input's and output's shapes; `None` is the dynamic batch dimension.
    pub input: Vec<Option<i64>>,
    /// The output's shape.
    pub output: Vec<Option<i64>>,
    /// The metadata entries.
    pub metadata: Vec<(String, String)>,
}

/// Reads back what [`to_onnx`] wrote: operators, names, shapes and metadata.
///
/// # Errors
/// [`Error::Weights`] (path `<memory>`) if `bytes` are not an ONNX model.
pub fn inspect(bytes: &[u8]) -> Result<Summary, Error> {
    let model = proto::Model::decode(bytes).map_err(|e| {
        Error::Weights {
            problem: WeightsProblem::Format {
                message: format!("not an ONNX model: {e}"),
            },
        }
        .at("<memory>")
    })?;
    let graph = model.graph.unwrap_or_default();
    let shape = |v: Option<&proto::ValueInfo>| -> Vec<Option<i64>> {
        v.and_then(|v| v.r#type.as_ref())
            .and_then(|t| t.tensor_type.as_ref())
            .and_then(|t| t.shape.as_ref())
            .map(|s| s.dim.iter().map(|d| d.dim_value).collect())
            .unwrap_or_default()
    };
    Ok(Summary {
        opset: model.opset_import.first().map_or(0, |o| o.version),
        operators: graph.node.iter().map(|n| n.op_type.clone()).collect(),
        nodes: graph.node.iter().map(|n| n.name.clone()).collect(),
        initializers: graph.initializer.iter().map(|t| t.name.clone()).collect(),
        input: shape(graph.input.first()),
        output: shape(graph.output.first()),
        metadata: model
            .metadata_props
            .into_iter()
            .map(|e| (e.key, e.value))
            .collect(),
    })
}

/// The ONNX forms of this crate's layers, called from their [`Layer::to_onnx`].
pub(crate) mod layers {
    use super::{Attribute, Graph};
    use crate::nn::layers::window::Geometry;
    use crate::nn::param::{Path, Segment};
    use crate::{base::scalar::Scalar, error::Error, nn::layer::Layer};

    /// `Linear`: `Gemm(x, W, b)` with `transB = 1` on a flat input.
    pub(crate) fn gemm<T, L, const I: usize, const O: usize>(
        layer: &L,
        at: &Path<'_>,
        g: &mut Graph<T>,
    ) -> Result<(), Error>
    where
        T: Scalar,
        L: Layer<T, I, O> + ?Sized,
    {
        let names = g.params(layer, at);
        let inputs: Vec<&str> = names.iter().map(String::as_str).collect();
        g.flatten(at);
        let attributes = vec![Attribute::int("transB", 1)];
        g.node(at, "Gemm", &inputs, attributes, vec![O]);
        Ok(())
    }

    /// The window attributes of a convolution or pool: 2-D for `[C, H, W]`, 1-D for `[C, L]`.
    fn window(geometry: &Geometry, rank: usize, padding: bool) -> Vec<Attribute> {
        let g = geometry;
        let (kernel, strides, pads) = if rank == 3 {
            (
                vec![g.kh as i64, g.kw as i64],
                vec![g.sh as i64, g.sw as i64],
                vec![g.ph as i64, g.pw as i64, g.ph as i64, g.pw as i64],
            )
        } else {
            (
                vec![g.kw as i64],
                vec![g.sw as i64],
                vec![g.pw as i64, g.pw as i64],
            )
        };
        let mut attributes = vec![
            Attribute::ints("kernel_shape", &kernel),
            Attribute::ints("strides", &strides),
        ];
        if padding {
            attributes.push(Attribute::ints("pads", &pads));
        }
        attributes
    }

    /// `Conv2d`, `Conv1d`, `StaticConv2d`: `Conv(x, W[, b])`.
    pub(crate) fn conv<T, L, const I: usize, const O: usize>(
        layer: &L,
        at: &Path<'_>,
        g: &mut Graph<T>,
        geometry: &Geometry,
        (input, output): (Vec<usize>, Vec<usize>),
    ) -> Result<(), Error>
    where
        T: Scalar,
        L: Layer<T, I, O> + ?Sized,
    {
        let names = g.params(layer, at);
        let inputs: Vec<&str> = names.iter().map(String::as_str).collect();
        g.reshape(at, &input);
        let attributes = window(geometry, input.len(), true);
        g.node(at, "Conv", &inputs, attributes, output);
        Ok(())
    }

    /// The pools: `MaxPool` or `AveragePool`, without padding, windows that do not fit whole
    /// left out (`ceil_mode = 0`, the default, as here).
    pub(crate) fn pool<T: Scalar>(
        at: &Path<'_>,
        g: &mut Graph<T>,
        max: bool,
        geometry: &Geometry,
        (input, output): (Vec<usize>, Vec<usize>),
    ) -> Result<(), Error> {
        g.reshape(at, &input);
        let op = if max { "MaxPool" } else { "AveragePool" };
        g.node(at, op, &[], window(geometry, input.len(), false), output);
        Ok(())
    }

    /// An operator of one input that keeps the shape (`Relu`, `Tanh`, `Sigmoid`,
    /// `LeakyRelu`).
    pub(crate) fn elementwise<T: Scalar>(
        at: &Path<'_>,
        g: &mut Graph<T>,
        op: &str,
        attributes: Vec<Attribute>,
    ) -> Result<(), Error> {
        let dims = g.dims().to_vec();
        g.node(at, op, &[], attributes, dims);
        Ok(())
    }

    /// `Softmax` over all the values of a sample (flattened first), `axis = -1`.
    pub(crate) fn softmax<T: Scalar>(at: &Path<'_>, g: &mut Graph<T>) -> Result<(), Error> {
        g.flatten(at);
        let dims = g.dims().to_vec();
        g.node(at, "Softmax", &[], vec![Attribute::int("axis", -1)], dims);
        Ok(())
    }

    /// `BatchNorm<C, N>`: `BatchNormalization` on `[batch, C, N / C]` (or `[batch, C]`), with
    /// the running statistics, as in evaluation.
    pub(crate) fn batch_norm<T, L, const N: usize>(
        layer: &L,
        at: &Path<'_>,
        g: &mut Graph<T>,
        channels: usize,
        eps: f64,
    ) -> Result<(), Error>
    where
        T: Scalar,
        L: Layer<T, N, N> + ?Sized,
    {
        let names = g.params(layer, at);
        let inputs: Vec<&str> = names.iter().map(String::as_str).collect();
        if g.dims().first() != Some(&channels) {
            if channels == N {
                g.flatten(at);
            } else {
                g.reshape(at, &[channels, N / channels.max(1)]);
            }
        }
        let dims = g.dims().to_vec();
        g.node(
            at,
            "BatchNormalization",
            &inputs,
            vec![Attribute::float("epsilon", eps)],
            dims,
        );
        Ok(())
    }

    /// `LayerNorm<N>`: `LayerNormalization` over a flat sample.
    pub(crate) fn layer_norm<T, L, const N: usize>(
        layer: &L,
        at: &Path<'_>,
        g: &mut Graph<T>,
        eps: f64,
    ) -> Result<(), Error>
    where
        T: Scalar,
        L: Layer<T, N, N> + ?Sized,
    {
        let names = g.params(layer, at);
        let inputs: Vec<&str> = names.iter().map(String::as_str).collect();
        g.flatten(at);
        let attributes = vec![Attribute::int("axis", -1), Attribute::float("epsilon", eps)];
        g.node(at, "LayerNormalization", &inputs, attributes, vec![N]);
        Ok(())
    }

    /// `Residual<L>`: the inner layers, named under `inner` as their tensors are, then `Add`
    /// of the block's input.
    pub(crate) fn residual<T, L, const N: usize>(
        inner: &L,
        at: &Path<'_>,
        g: &mut Graph<T>,
    ) -> Result<(), Error>
    where
        T: Scalar,
        L: Layer<T, N, N> + ?Sized,
    {
        let (skip, dims) = (g.value().to_string(), g.dims().to_vec());
        let named = at.child(Segment::Name("inner"));
        let first = named.child(Segment::Index(0));
        inner.to_onnx(if inner.depth() > 1 { &first } else { &named }, g)?;
        g.add(at, &skip, &dims);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Net;
    use crate::nn::{
        BatchNorm1d, Build, Conv1d, Dropout, Elementwise, LayerNorm, LeakyRelu, Linear, Relu,
        Sigmoid, Softmax, Tanh,
    };
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn rng() -> StdRng {
        StdRng::seed_from_u64(3)
    }

    #[test]
    fn a_cnn_is_conv_pool_flatten_gemm_with_an_image_input() {
        type Cnn = Net![
            Input<1, 12, 12>,
            Conv2d<1, 4, 3>, Relu, MaxPool2d<2>,
            Flatten,
            Linear<100, 10>,
        ];
        let net = Cnn::init(&mut rng());
        let model = inspect(&to_onnx(&net).unwrap()).unwrap();
        assert_eq!(model.opset, 18);
        assert_eq!(
            model.operators,
            ["Conv", "Relu", "MaxPool", "Flatten", "Gemm"]
        );
        assert_eq!(
            model.nodes,
            ["/0/Conv", "/1/Relu", "/2/MaxPool", "/3/Flatten", "/4/Gemm"]
        );
        assert_eq!(
            model.initializers,
            ["0.weight", "0.bias", "4.weight", "4.bias"]
        );
        assert_eq!(model.input, [None, Some(1), Some(12), Some(12)]);
        assert_eq!(model.output, [None, Some(10)]);
    }

    #[test]
    fn a_linear_after_a_pool_gets_a_flatten_and_a_conv_after_a_linear_a_reshape() {
        // A signal network written without `Flatten`: the exporter puts the views in.
        type Signal = Net![
            Input<2, 16>,
            Conv1d<2, 4, 3>, Tanh, AvgPool1d<2>,
            Linear<28, 6>, Sigmoid,
        ];
        let net = Signal::init(&mut rng());
        let model = inspect(&to_onnx(&net).unwrap()).unwrap();
        assert_eq!(
            model.operators,
            ["Conv", "Tanh", "AveragePool", "Flatten", "Gemm", "Sigmoid"]
        );
        assert_eq!(model.input, [None, Some(2), Some(16)]);
        assert_eq!(model.output, [None, Some(6)]);

        let net = Linear::<4, 18>::zeros().then(Conv1d::<2, 1, 3, 1, 0, 9, 18, 7, false>::zeros());
        let model = inspect(&to_onnx(&net).unwrap()).unwrap();
        assert_eq!(model.operators, ["Gemm", "Reshape", "Conv", "Flatten"]);
        assert_eq!(
            model.initializers,
            ["0.weight", "0.bias", "1.weight", "/1/Reshape_shape"]
        );
        assert_eq!(model.nodes[3], "/2/Flatten");
    }

    #[test]
    fn norms_residuals_and_dropout_keep_the_safetensors_names() {
        type Mlp = Net![
            Linear<8, 16>, BatchNorm1d<16>, LeakyRelu, Dropout,
            Residual<Net![Linear<16, 16>, LayerNorm<16>, Relu]>,
            Linear<16, 3>, Softmax,
        ];
        let net = Mlp::init(&mut rng());
        let model = inspect(&to_onnx(&net).unwrap()).unwrap();
        assert_eq!(
            model.operators,
            [
                "Gemm",
                "BatchNormalization",
                "LeakyRelu",
                "Gemm",
                "LayerNormalization",
                "Relu",
                "Add",
                "Gemm",
                "Softmax"
            ]
        );
        let mut saved = Vec::new();
        net.visit_params(&Path::ROOT, &mut |p| {
            if p.role != Role::Count {
                saved.push(p.full_name().to_string());
            }
        });
        assert_eq!(model.initializers, saved);
        assert!(model.initializers.contains(&"4.inner.1.weight".to_string()));
        assert!(model.nodes.contains(&"/4/inner/0/Gemm".to_string()));
    }

    #[test]
    fn a_layer_without_an_onnx_form_is_named_in_the_error() {
        struct Cube;
        impl Activation<f32> for Cube {
            fn activate(&self, x: f32) -> f32 {
                x * x * x
            }
            fn derivative(&self, x: f32, _: f32) -> f32 {
                3.0 * x * x
            }
        }
        use crate::nn::Activation;
        let net = Linear::<2, 2>::zeros().then(Elementwise(Cube));
        let err = to_onnx(&net).unwrap_err();
        assert!(
            matches!(&err, Error::NotExportable { position, .. } if position == "1"),
            "{err}"
        );
        assert!(
            err.to_string().contains("layer 1 (`Elementwise<Cube>`)"),
            "{err}"
        );
    }

    #[test]
    fn the_model_carries_the_metadata_and_the_scalar_type() {
        let net = Linear::<3, 2, f64>::zeros();
        let bytes = to_onnx_described(&net, &[("classes", "a\tb")]).unwrap();
        let model = inspect(&bytes).unwrap();
        assert!(model.metadata.contains(&("classes".into(), "a\tb".into())));
        assert!(
            model
                .metadata
                .contains(&("constnet.scalar".into(), "f64".into()))
        );
        let decoded = proto::Model::decode(bytes.as_slice()).unwrap();
        let graph = decoded.graph.unwrap();
        assert_eq!(graph.initializer[0].data_type, DOUBLE);
        assert_eq!(graph.initializer[0].raw_data.len(), 3 * 2 * 8);
        assert!(to_onnx_described(&net, &[("constnet.layers", "x")]).is_err());
        // The same network gives the same bytes.
        assert_eq!(
            bytes,
            to_onnx_described(&net, &[("classes", "a\tb")]).unwrap()
        );
    }

    #[test]
    fn weights_are_written_row_major_as_pytorch_lays_them_out() {
        let mut net = Linear::<2, 3>::zeros();
        // W = [[1, 2], [3, 4], [5, 6]] (out x in).
        let mut k = 0.0;
        net.visit_params_mut(&Path::ROOT, &mut |p| {
            if p.name == "weight" {
                for (i, v) in p.value.iter_mut().enumerate() {
                    // Column-major: i = col * 3 + row.
                    *v = ((i % 3) * 2 + i / 3 + 1) as f32;
                }
            } else {
                for v in p.value.iter_mut() {
                    k += 1.0;
                    *v = k;
                }
            }
        });
        let decoded = proto::Model::decode(to_onnx(&net).unwrap().as_slice()).unwrap();
        let weight = &decoded.graph.unwrap().initializer[0];
        assert_eq!(weight.dims, [3, 2]);
        let values: Vec<f32> = weight
            .raw_data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        assert_eq!(values, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    }

    #[test]
    fn a_boxed_network_exports_as_the_network_inside() {
        type Mlp = Net![Linear<4, 8>, Relu, Linear<8, 2>];
        let net = Mlp::init(&mut rng());
        let boxed: Box<dyn crate::nn::Model<f32, 4, 2>> = Box::new(net.clone());
        assert_eq!(to_onnx(&boxed).unwrap(), to_onnx(&net).unwrap());
        let dropout_only = Dropout::new(0.5).unwrap();
        let model = inspect(&to_onnx::<f32, _, 3, 3>(&dropout_only).unwrap()).unwrap();
        assert_eq!(model.operators, ["Identity"]);
    }
}
