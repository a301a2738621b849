//! A Linear straight after a convolution takes all its values.
#[allow(unused_imports)]
use constnet::{Net, nn::{Build, Relu}};
use constnet::rand::{SeedableRng, rngs::StdRng};

type Cnn = Net![Input<1, 28, 28>, Conv2d<1, 8, 5>, Relu, Linear<4600, 64>, Relu, Linear<64, 10>];

fn main() {
    let _net = Cnn::init(&mut StdRng::seed_from_u64(0));
}
