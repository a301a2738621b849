//! ONNX export of every layer, checked by ONNX Runtime.
//!
//! `cargo test --test onnx` checks that each network of the zoo below exports. With
//! `CONSTNET_ONNX_ZOO=DIR`, the ignored test `zoo_for_onnxruntime` also writes, for each
//! network, `NAME.onnx`, a batch of inputs `NAME.in` and constnet's outputs on them
//! `NAME.out` (little-endian `f32` or `f64`, row-major `[batch, values]`);
//! `tests/onnx/check.py DIR` then runs each model in ONNX Runtime, compares, and runs the ONNX
//! checker (CI does both).

use std::path::Path as FilePath;

use constnet::nalgebra::{SMatrix, SVector};
use constnet::nn::{
    BatchNorm1d, Build, Dropout, Layer, LayerNorm, LeakyRelu, Linear, Path, Relu, Role, Sigmoid,
    Softmax, StaticConv2d, StaticLinear, Tanh,
};
use constnet::rand::rngs::StdRng;
use constnet::rand::{RngExt, SeedableRng};
use constnet::{Batch, Net, Scalar, io};

/// Samples per batch in the zoo.
const BATCH: usize = 7;

/// Gives the running statistics of batch norms values that are not their defaults (mean
/// 0, variance 1), so that the export of each is tested.
fn stir_running_statistics<T: Scalar, N: Layer<T, I, O>, const I: usize, const O: usize>(
    net: &mut N,
    rng: &mut StdRng,
) {
    net.visit_params_mut(&Path::ROOT, &mut |p| {
        if p.role == Role::Running {
            for v in p.value.iter_mut() {
                *v = T::of(if p.name == "running_var" {
                    rng.random_range(0.5..2.0)
                } else {
                    rng.random_range(-0.5..0.5)
                });
            }
        }
    });
}

/// Exports `net`; with a directory, writes the model, inputs and outputs there.
fn zoo_entry<T: Scalar, N: Layer<T, I, O>, const I: usize, const O: usize>(
    name: &str,
    mut net: N,
    dir: Option<&FilePath>,
) {
    let mut rng = StdRng::seed_from_u64(name.len() as u64);
    stir_running_statistics(&mut net, &mut rng);
    let bytes = io::to_onnx(&net).unwrap_or_else(|e| panic!("{name}: {e}"));
    let model = io::onnx::inspect(&bytes).unwrap();
    assert_eq!(model.output, [None, Some(O as i64)], "{name}");
    let Some(dir) = dir else { return };
    let mut x = Batch::<T, I>::zeros(BATCH);
    for v in x.as_mut_slice() {
        *v = T::of(rng.random_range(-2.0..2.0));
    }
    let y = net.predict_batch(&x);
    let raw = |values: &[T]| -> Vec<u8> {
        values
            .iter()
            .flat_map(|v| {
                if size_of::<T>() == 4 {
                    (v.as_f64() as f32).to_le_bytes().to_vec()
                } else {
                    v.as_f64().to_le_bytes().to_vec()
                }
            })
            .collect()
    };
    std::fs::write(dir.join(format!("{name}.onnx")), &bytes).unwrap();
    std::fs::write(dir.join(format!("{name}.in")), raw(x.as_slice())).unwrap();
    std::fs::write(dir.join(format!("{name}.out")), raw(y.as_slice())).unwrap();
}

type Mlp = Net![Linear<6, 16>, Tanh, Linear<16, 8>, Sigmoid, Linear<8, 4>, Softmax];
type Leaky = Net![Linear<6, 8>, LeakyRelu, Dropout, Linear<8, 3>];
type Normed = Net![
    Linear<6, 16>, BatchNorm1d<16>, Relu,
    Residual<Net![Linear<16, 16>, LayerNorm<16>, Relu]>,
    Linear<16, 3>,
];
type Cnn = Net![
    Input<3, 10, 10>,
    Conv2d<3, 4, 3, 2, 1>, BatchNorm2d<4>, Relu, AvgPool2d<2>,
    Conv2d<4, 6, 2, 1, 1, false>, MaxPool2d<2, 1>,
    Flatten,
    Linear<24, 5>,
];
type Signal = Net![
    Input<2, 21>,
    Conv1d<2, 4, 5, 2, 2>, Relu, MaxPool1d<2>,
    Conv1d<4, 3, 3, 1, 1>, AvgPool1d<2, 1>,
    Linear<12, 2>,
];
type Double = Net![Linear<5, 7, f64>, Relu, Linear<7, 2, f64>];

/// Every network of the zoo, exported (written to `dir` if given).
fn zoo(dir: Option<&FilePath>) {
    let rng = &mut StdRng::seed_from_u64(11);
    zoo_entry("mlp", Mlp::init(rng), dir);
    let mut leaky = Leaky::init(rng);
    *leaky.first_mut().first_mut().second_mut() = LeakyRelu::new(0.2);
    zoo_entry("leaky", leaky, dir);
    zoo_entry("normed", Normed::init(rng), dir);
    zoo_entry("cnn", Cnn::init(rng), dir);
    zoo_entry("signal", Signal::init(rng), dir);
    zoo_entry("double", Double::init(rng), dir);
    let boxed: Box<dyn constnet::nn::Model<f32, 6, 4>> = Box::new(Mlp::init(rng));
    zoo_entry("boxed", boxed, dir);
    // Weights borrowed from arrays, as a microcontroller's statics are.
    let value = |_| rng.random_range(-0.5..0.5f32);
    let (filters, bias) = (core::array::from_fn::<f32, 18, _>(value), [0.1, -0.2]);
    let (weight, bias2) = (
        SMatrix::<f32, 3, 50>::from_fn(|_, _| rng.random_range(-0.3..0.3)),
        SVector::<f32, 3>::from([0.0, 0.5, -0.5]),
    );
    let borrowed = StaticConv2d::<1, 2, 3, 1, 1, 5, 5, 25, 50>::new(&filters, &bias)
        .then(Relu)
        .then(StaticLinear::new(&weight, &bias2));
    zoo_entry("static", borrowed, dir);
}

#[test]
fn every_network_of_the_zoo_exports() {
    zoo(None);
}

#[test]
#[ignore = "writes files for tests/onnx/check.py; run with CONSTNET_ONNX_ZOO=DIR"]
fn zoo_for_onnxruntime() {
    let dir = std::env::var_os("CONSTNET_ONNX_ZOO").expect("set CONSTNET_ONNX_ZOO to a directory");
    let dir = FilePath::new(&dir);
    std::fs::create_dir_all(dir).unwrap();
    zoo(Some(dir));
}
