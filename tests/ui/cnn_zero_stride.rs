//! A stride of zero.
#[allow(unused_imports)]
use constnet::{Net, nn::{Build, Relu}};
use constnet::rand::{SeedableRng, rngs::StdRng};

type Cnn = Net![Input<1, 6, 6>, Conv2d<1, 4, 3, 0>, Flatten, Linear<64, 2>];

fn main() {
    let _net = Cnn::init(&mut StdRng::seed_from_u64(0));
}
