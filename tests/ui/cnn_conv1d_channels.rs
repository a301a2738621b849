//! A 1-D convolution that takes other channels.
#[allow(unused_imports)]
use constnet::{Net, nn::{Build, Relu}};
use constnet::rand::{SeedableRng, rngs::StdRng};

type Cnn = Net![Input<2, 50>, Conv1d<2, 8, 5>, MaxPool1d<2>, Conv1d<4, 8, 3>, Flatten, Linear<160, 3>];

fn main() {
    let _net = Cnn::init(&mut StdRng::seed_from_u64(0));
}
