//! A kernel larger than what is left of the image.
#[allow(unused_imports)]
use constnet::{Net, nn::{Build, Relu}};
use constnet::rand::{SeedableRng, rngs::StdRng};

type Cnn = Net![Input<1, 8, 8>, Conv2d<1, 8, 5>, MaxPool2d<2>, Conv2d<8, 16, 3>, Flatten, Linear<16, 10>];

fn main() {
    let _net = Cnn::init(&mut StdRng::seed_from_u64(0));
}
