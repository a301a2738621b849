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
//!
//! A layer of your own writes its nodes into the [`Graph`]: [`Graph::layer_node`] appends a
//! node whose inputs are the flowing value and the layer's tensors (under their saved names);
//! [`Graph::params`] and [`Graph::node`] are its two halves, for other arrangements:
//! ```
//! use constnet::{Scalar, params, Error, io::onnx, nn::{Layer, Linear, Path, Takes}};
//! use nalgebra::SVector;
//!
//! /// `y = s ⊙ x`, with a learned scale `s`: ONNX's `Mul`.
//! struct Scale<const N: usize, T: Scalar = f32> {
//!     s: SVector<T, N>,
//!     s_grad: SVector<T, N>,
//! }
//! impl<const N: usize, T: Scalar> Takes<N> for Scale<N, T> {}
//! impl<const N: usize, T: Scalar> Layer<T, N, N> for Scale<N, T> {
//!     type Tape = ();
//!     fn forward_tape(&self, x: &SVector<T, N>) -> (SVector<T, N>, ()) {
//!         (x.component_mul(&self.s), ())
//!     }
//!     fn backward(&mut self, x: &SVector<T, N>, _: &SVector<T, N>, dy: &SVector<T, N>, _: &()) -> SVector<T, N> {
//!         self.s_grad += dy.component_mul(x);
//!         dy.component_mul(&self.s)
//!     }
//!     params! { scale: vector(s, s_grad); }
//!     fn to_onnx(&self, at: &Path<'_>, g: &mut onnx::Graph<T>) -> Result<(), Error> {
//!         g.flatten(at); // the scale is of the flat sample
//!         // `Mul(x, 1.scale)`: the flowing value, then the layer's tensors.
//!         g.layer_node(at, "Mul", &mut |mut f| self.visit_params(at, &mut f), Vec::new(), vec![N]);
//!         Ok(())
//!     }
//! }
//! let net = Linear::<2, 3>::zeros().then(Scale::<3> { s: SVector::repeat(2.0), s_grad: SVector::zeros() });
//! let model = onnx::inspect(&onnx::to_onnx(&net)?)?;
//! assert_eq!(model.operators, ["Gemm", "Mul"]);
//! assert_eq!(model.initializers, ["0.weight", "0.bias", "1.scale"]);
//! # Ok::<(), constnet::Error>(())
//! ```

use std::path::Path as FilePath;

use prost::Message;

use crate::error::{Error, WeightsProblem};
use crate::io::metadata::metadata_for;
use crate::nn::layer::LayerInfo;
pub use crate::nn::onnx::{Attribute, Graph, OPSET, VisitParams};
use crate::nn::onnx::{IR_VERSION, proto, value_info};
use crate::nn::param::Path;
use crate::{base::scalar::Scalar, nn::layer::Layer};

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
    // The flowing value is the last node's output: the graph's output.
    if let Some(last) = graph.nodes.last_mut() {
        last.output = vec![String::from("output")];
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Net;
    use crate::nn::onnx::DOUBLE;
    use crate::nn::param::Role;
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
            ["0.weight", "0.bias", "/1/Reshape_shape", "1.weight"]
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
