//! `BatchNorm2d` after `Flatten`: a flat vector has no channels (`BatchNorm1d<N>` is meant).
#[allow(unused_imports)]
use constnet::{Net, nn::{Build, Relu}};
use constnet::rand::{SeedableRng, rngs::StdRng};

type Cnn = Net![Input<1, 8, 8>, Conv2d<1, 4, 3>, Relu, Flatten, BatchNorm2d<4>, Linear<144, 10>];

fn main() {
    let _net = Cnn::init(&mut StdRng::seed_from_u64(0));
}
