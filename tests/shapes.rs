//! Which chains are networks, checked by the compiler through `static_assertions`.

use constnet::{
    Net,
    nn::{Build, Chain, Layer, LeakyRelu, Linear, Relu, Sigmoid, Softmax, Takes, Tanh},
};
use static_assertions::{assert_impl_all, assert_not_impl_any};

type Mlp = Chain<Chain<Chain<Linear<784, 128>, Relu, 128>, Linear<128, 10>, 128>, Softmax, 10>;

// A correct network maps its first input size to its last output size, and nothing else.
assert_impl_all!(Mlp: Layer<f32, 784, 10>);
assert_not_impl_any!(Mlp: Layer<f32, 784, 128>, Layer<f32, 10, 784>, Layer<f64, 784, 10>);

// The one-line form names the same type.
static_assertions::assert_type_eq_all!(Mlp, Net![Linear<784, 128>, Relu, Linear<128, 10>, Softmax]);

// A chain of mismatched sizes is not even a valid type (`Chain<A, B, M>` needs `B: Takes<M>`),
// so it cannot be named here: tests/ui/ pins the errors. What it rests on:
assert_not_impl_any!(Linear<100, 10>: Takes<128>);
assert_impl_all!(Linear<128, 10>: Takes<128>);
assert_impl_all!(Relu: Takes<1>, Takes<784>);

// Activations keep the size, for every size and both scalar types.
assert_impl_all!(Relu: Layer<f32, 7, 7>, Layer<f64, 1, 1>);
assert_impl_all!(Tanh: Layer<f32, 300, 300>);
assert_impl_all!(Sigmoid: Layer<f64, 2, 2>);
assert_impl_all!(LeakyRelu: Layer<f32, 5, 5>);
assert_not_impl_any!(Relu: Layer<f32, 7, 8>);
assert_not_impl_any!(Linear<2, 3>: Layer<f32, 3, 2>, Layer<f64, 2, 3>);

#[test]
fn depth_counts_every_layer_like_pytorch_sequential() {
    assert_eq!(<Mlp as Build>::zeros().depth(), 4);
    let mut names = Vec::new();
    let net = Linear::<4, 3>::zeros()
        .then(Tanh)
        .then(Linear::<3, 2>::zeros());
    net.visit_params(&constnet::nn::Path::ROOT, &mut |p| {
        names.push(p.full_name().to_string())
    });
    assert_eq!(names, ["0.weight", "0.bias", "2.weight", "2.bias"]);
}

// Convolutional layers: the sizes in the type are the network's, and `Net!` names them.
type Cnn = Net![Input<1, 28, 28>, Conv2d<1, 8, 5>, Relu, MaxPool2d<2>, Flatten, Linear<1152, 10>];
assert_impl_all!(Cnn: Layer<f32, 784, 10>, Build);
assert_not_impl_any!(Cnn: Layer<f32, 784, 1152>, Layer<f64, 784, 10>);
static_assertions::assert_type_eq_all!(
    Cnn,
    Chain<
        Chain<
            Chain<
                Chain<constnet::nn::Conv2d<1, 8, 5, 1, 0, 28, 28, 784, 4608>, Relu, 4608>,
                constnet::nn::MaxPool2d<2, 2, 24, 24, 4608, 1152>,
                4608,
            >,
            constnet::nn::Flatten,
            1152,
        >,
        Linear<1152, 10>,
        1152,
    >
);

// Layers named by path in `Net!` are the same layers.
static_assertions::assert_type_eq_all!(
    Cnn,
    Net![Input<1, 28, 28>, constnet::nn::Conv2d<1, 8, 5>, Relu, nn::MaxPool2d<2>, constnet::nn::Flatten, constnet::nn::Linear<1152, 10>]
);

// Stride, padding and no bias in `Net!`, PyTorch's positional order; 1-D layers from `Input<C, L>`.
static_assertions::assert_type_eq_all!(
    Net![Input<3, 32, 32>, Conv2d<3, 16, 3, 2, 1, false>, Relu, AvgPool2d<3, 2>, Flatten, Linear<784, 10>],
    Chain<
        Chain<
            Chain<
                Chain<constnet::nn::Conv2d<3, 16, 3, 2, 1, 32, 32, 3072, 4096, false>, Relu, 4096>,
                constnet::nn::AvgPool2d<3, 2, 16, 16, 4096, 784>,
                4096,
            >,
            constnet::nn::Flatten,
            784,
        >,
        Linear<784, 10>,
        784,
    >
);
static_assertions::assert_type_eq_all!(
    Net![Input<2, 100>, Conv1d<2, 4, 5, 2>, MaxPool1d<3, 2>, Flatten, Linear<92, 3>],
    Chain<
        Chain<
            Chain<
                constnet::nn::Conv1d<2, 4, 5, 2, 0, 100, 200, 192>,
                constnet::nn::MaxPool1d<3, 2, 48, 192, 92>,
                192,
            >,
            constnet::nn::Flatten,
            92,
        >,
        Linear<92, 3>,
        92,
    >
);
