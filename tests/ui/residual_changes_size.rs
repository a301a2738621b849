//! A residual block `x + f(x)` whose inner layers change the size cannot add `x`.
use constnet::{Net, nn::{Build, Linear, Relu}};
use constnet::rand::{SeedableRng, rngs::StdRng};

type Mlp = Net![Linear<4, 16>, Relu, Residual<Net![Linear<16, 8>, Relu]>, Linear<16, 2>];

fn main() {
    let _net = Mlp::init(&mut StdRng::seed_from_u64(0));
}
