//! A 1-D layer after a 2-D one.
#[allow(unused_imports)]
use constnet::{Net, nn::{Build, Relu}};
use constnet::rand::{SeedableRng, rngs::StdRng};

type Cnn = Net![Input<1, 6, 6>, Conv2d<1, 4, 3>, Conv1d<4, 4, 3>, Flatten, Linear<8, 2>];

fn main() {
    let _net = Cnn::init(&mut StdRng::seed_from_u64(0));
}
