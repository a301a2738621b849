//! A convolution that takes other channels than the layer before gives.
#[allow(unused_imports)]
use constnet::{Net, nn::{Build, Relu}};
use constnet::rand::{SeedableRng, rngs::StdRng};

type Cnn = Net![Input<1, 28, 28>, Conv2d<1, 8, 5>, Relu, MaxPool2d<2>, Conv2d<6, 16, 5>, Relu, Flatten, Linear<1024, 10>];

fn main() {
    let _net = Cnn::init(&mut StdRng::seed_from_u64(0));
}
