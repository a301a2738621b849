//! A convolutional network without the shape of its input.
#[allow(unused_imports)]
use constnet::{Net, nn::{Build, Relu}};
use constnet::rand::{SeedableRng, rngs::StdRng};

type Cnn = Net![Conv2d<1, 8, 5>, Relu, Flatten, Linear<4608, 10>];

fn main() {
    let _net = Cnn::init(&mut StdRng::seed_from_u64(0));
}
