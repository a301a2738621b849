//! A `BatchNorm2d` over other channels than the convolution before it gives.
#[allow(unused_imports)]
use constnet::{Net, nn::{Build, Relu}};
use constnet::rand::{SeedableRng, rngs::StdRng};

type Cnn = Net![Input<1, 28, 28>, Conv2d<1, 8, 5>, BatchNorm2d<6>, Relu, MaxPool2d<2>, Flatten, Linear<1152, 10>];

fn main() {
    let _net = Cnn::init(&mut StdRng::seed_from_u64(0));
}
