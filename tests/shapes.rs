//! Which chains are networks, checked by the compiler through `static_assertions`.

use constnet::{Chain, Layer, LeakyRelu, Linear, Relu, Sigmoid, Softmax, Tanh};
use static_assertions::{assert_impl_all, assert_not_impl_any};

type Mlp = Chain<Chain<Chain<Linear<784, 128>, Relu, 128>, Linear<128, 10>, 128>, Softmax, 10>;
type Mismatched = Chain<Linear<784, 128>, Linear<100, 10>, 128>;
type MismatchedAfterActivation = Chain<Chain<Linear<784, 128>, Relu, 128>, Linear<100, 10>, 128>;

// A correct network maps its first input size to its last output size, and nothing else.
assert_impl_all!(Mlp: Layer<f32, 784, 10>);
assert_not_impl_any!(Mlp: Layer<f32, 784, 128>, Layer<f32, 10, 784>, Layer<f64, 784, 10>);

// Mismatched sizes give no layer at all, whatever sizes are asked for.
assert_not_impl_any!(Mismatched: Layer<f32, 784, 10>, Layer<f32, 784, 128>, Layer<f32, 100, 10>);
assert_not_impl_any!(MismatchedAfterActivation: Layer<f32, 784, 10>);

// A chain whose middle size is wrong is no layer either.
assert_not_impl_any!(Chain<Linear<2, 3>, Linear<3, 4>, 5>: Layer<f32, 2, 4>);

// Activations keep the size, for every size and both scalar types.
assert_impl_all!(Relu: Layer<f32, 7, 7>, Layer<f64, 1, 1>);
assert_impl_all!(Tanh: Layer<f32, 300, 300>);
assert_impl_all!(Sigmoid: Layer<f64, 2, 2>);
assert_impl_all!(LeakyRelu: Layer<f32, 5, 5>);
assert_not_impl_any!(Relu: Layer<f32, 7, 8>);
assert_not_impl_any!(Linear<2, 3>: Layer<f32, 3, 2>, Layer<f64, 2, 3>);

#[test]
fn depth_counts_every_layer_like_pytorch_sequential() {
    assert_eq!(<Mlp as Layer<f32, 784, 10>>::DEPTH, 4);
    let mut names = Vec::new();
    let net = Linear::<4, 3>::zeros()
        .then(Tanh)
        .then(Linear::<3, 2>::zeros());
    net.visit_params(0, &mut |p| {
        names.push(format!("{}.{}", p.layer, p.kind.name()))
    });
    assert_eq!(names, ["0.weight", "0.bias", "2.weight", "2.bias"]);
}
