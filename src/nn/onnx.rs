//! The ONNX graph that layers write their nodes into ([`Layer::to_onnx`](crate::nn::Layer::to_onnx)):
//! [`Graph`], [`Attribute`], and the ONNX forms of this crate's layers. Writing the model
//! file is [`io::onnx`](crate::io::onnx)'s.

use std::collections::BTreeSet;
use std::marker::PhantomData;

use crate::alloc_prelude::*;
use crate::base::scalar::Scalar;
use crate::nn::param::{Param, Path, Role, to_row_major};

/// The ONNX operator set the models use: 18, the default of PyTorch's exporter; every
/// operator used here is in it (`LayerNormalization` came in 17).
pub const OPSET: i64 = 18;
/// The IR version of [`OPSET`]'s release (ONNX 1.13).
pub(crate) const IR_VERSION: i64 = 8;
/// ONNX's element types.
pub(crate) const FLOAT: i32 = 1;
pub(crate) const INT64: i32 = 7;
pub(crate) const DOUBLE: i32 = 11;

/// The messages of `onnx.proto` this exporter writes, with the fields it needs; the field
/// numbers are those of the ONNX specification. A `oneof` of the specification is written
/// as optional fields of the same numbers, which is the same on the wire.
pub(crate) mod proto {
    use crate::alloc_prelude::*;

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

/// The error of a layer `L` at `at` that has no ONNX form.
pub(crate) fn not_exportable<L: ?Sized>(at: &Path<'_>) -> crate::error::Error {
    crate::error::Error::NotExportable {
        layer: crate::base::names::short_type_name(core::any::type_name::<L>()),
        position: at.to_string(),
    }
}

/// A layer's parameter visitor, as [`Graph::params`] takes it: a closure that hands each
/// tensor to the function it is given (`&mut |mut f| self.visit_params(at, &mut f)`).
pub type VisitParams<'v, T> = dyn FnMut(&mut dyn FnMut(Param<'_, T>)) + 'v;

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

/// The ONNX graph of a network as its layers write it ([`Layer::to_onnx`](crate::nn::Layer::to_onnx)): the nodes so far,
/// the initializers (parameter tensors), and the value that flows on, with its shape.
///
/// A layer's `to_onnx` typically puts its tensors in with [`Graph::params`], makes the value
/// the shape it needs ([`Graph::flatten`] or [`Graph::reshape`]) and appends its node with
/// [`Graph::node`], which takes the flowing value as the node's first input and makes the
/// node's output the flowing value.
#[derive(Debug)]
pub struct Graph<T> {
    pub(crate) nodes: Vec<proto::Node>,
    pub(crate) initializers: Vec<proto::Tensor>,
    names: BTreeSet<String>,
    value: String,
    dims: Vec<usize>,
    scalar: PhantomData<T>,
}

impl<T: Scalar> Graph<T> {
    pub(crate) fn new(dims: Vec<usize>) -> Self {
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

    /// Puts the parameter tensors and running statistics that `visit` hands out (a layer's
    /// [`visit_params`](crate::nn::Layer::visit_params): `g.params(&mut |f| self.visit_params(at, f))`)
    /// in as initializers, under their safetensors names (`0.weight`), row-major, and returns
    /// the names in that order. Counters ([`Role::Count`]) are left out: inference does not
    /// read them.
    pub fn params(&mut self, visit: &mut VisitParams<'_, T>) -> Vec<String> {
        let mut names = Vec::new();
        visit(&mut |p| {
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

    /// [`Graph::params`] and [`Graph::node`] in one: a node whose inputs after the flowing
    /// value are the tensors that `visit` hands out, in their order.
    pub fn layer_node(
        &mut self,
        at: &Path<'_>,
        op: &str,
        visit: &mut VisitParams<'_, T>,
        attributes: Vec<Attribute>,
        dims: Vec<usize>,
    ) {
        let names = self.params(visit);
        let inputs: Vec<&str> = names.iter().map(String::as_str).collect();
        self.node(at, op, &inputs, attributes, dims);
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
pub(crate) fn tensor<T: Scalar>(name: &str, dims: &[usize], values: &[T]) -> proto::Tensor {
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

pub(crate) fn elem_type<T: Scalar>() -> i32 {
    if size_of::<T>() == 4 { FLOAT } else { DOUBLE }
}

/// A graph input or output of `T`s: a batch of any size, then `dims`.
pub(crate) fn value_info<T: Scalar>(name: &str, dims: &[usize]) -> proto::ValueInfo {
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

/// The ONNX forms of this crate's layers, called from their `to_onnx`.
pub(crate) mod forms {
    use super::{Attribute, Graph};
    use crate::alloc_prelude::*;
    use crate::nn::layers::window::Geometry;
    use crate::nn::param::Path;
    use crate::{base::scalar::Scalar, error::Error};

    /// What a layer's `visit_params` hands out, as [`Graph::params`] takes it.
    type Visit<'v, T> = &'v mut super::VisitParams<'v, T>;

    /// `Linear`: `Gemm(x, W, b)` with `transB = 1` on a flat input.
    pub(crate) fn gemm<T>(
        visit: Visit<'_, T>,
        outputs: usize,
        at: &Path<'_>,
        g: &mut Graph<T>,
    ) -> Result<(), Error>
    where
        T: Scalar,
    {
        g.flatten(at);
        let attributes = vec![Attribute::int("transB", 1)];
        g.layer_node(at, "Gemm", visit, attributes, vec![outputs]);
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
    pub(crate) fn conv<T>(
        visit: Visit<'_, T>,
        at: &Path<'_>,
        g: &mut Graph<T>,
        geometry: &Geometry,
        (input, output): (Vec<usize>, Vec<usize>),
    ) -> Result<(), Error>
    where
        T: Scalar,
    {
        g.reshape(at, &input);
        let attributes = window(geometry, input.len(), true);
        g.layer_node(at, "Conv", visit, attributes, output);
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
    pub(crate) fn batch_norm<T>(
        visit: Visit<'_, T>,
        len: usize,
        at: &Path<'_>,
        g: &mut Graph<T>,
        channels: usize,
        eps: f64,
    ) -> Result<(), Error>
    where
        T: Scalar,
    {
        if g.dims().first() != Some(&channels) {
            if channels == len {
                g.flatten(at);
            } else {
                g.reshape(at, &[channels, len / channels.max(1)]);
            }
        }
        let dims = g.dims().to_vec();
        let attributes = vec![Attribute::float("epsilon", eps)];
        g.layer_node(at, "BatchNormalization", visit, attributes, dims);
        Ok(())
    }

    /// `LayerNorm<N>`: `LayerNormalization` over a flat sample.
    pub(crate) fn layer_norm<T>(
        visit: Visit<'_, T>,
        len: usize,
        at: &Path<'_>,
        g: &mut Graph<T>,
        eps: f64,
    ) -> Result<(), Error>
    where
        T: Scalar,
    {
        g.flatten(at);
        let attributes = vec![Attribute::int("axis", -1), Attribute::float("epsilon", eps)];
        g.layer_node(at, "LayerNormalization", visit, attributes, vec![len]);
        Ok(())
    }
}
