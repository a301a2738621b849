//! A kernel larger than the image even with its padding.
#[allow(unused_imports)]
use constnet::{Net, nn::{Build, Relu}};
use constnet::rand::{SeedableRng, rngs::StdRng};

type Cnn = Net![Input<3, 4, 4>, Conv2d<3, 4, 7, 1, 1>, Flatten, Linear<16, 2>];

fn main() {
    let _net = Cnn::init(&mut StdRng::seed_from_u64(0));
}
