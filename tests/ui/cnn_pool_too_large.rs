//! A pooling window larger than its input.
#[allow(unused_imports)]
use constnet::{Net, nn::{Build, Relu}};
use constnet::rand::{SeedableRng, rngs::StdRng};

type Cnn = Net![Input<1, 6, 6>, Conv2d<1, 4, 3>, MaxPool2d<5>, Flatten, Linear<4, 2>];

fn main() {
    let _net = Cnn::init(&mut StdRng::seed_from_u64(0));
}
