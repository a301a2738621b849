//! In a network that starts with its input shape, a residual block checks its inner layers
//! against the size worked out before it.
#[allow(unused_imports)]
use constnet::{Net, nn::{Build, Linear, Relu}};
use constnet::rand::{SeedableRng, rngs::StdRng};

type Cnn = Net![Input<1, 6, 6>, Conv2d<1, 4, 3>, Relu, Flatten, Residual<Net![Linear<64, 32>, Relu]>, Linear<64, 2>];

fn main() {
    let _net = Cnn::init(&mut StdRng::seed_from_u64(0));
}
