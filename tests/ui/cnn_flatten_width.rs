//! The width of the Linear after a Flatten, written wrongly: the error says the right one.
#[allow(unused_imports)]
use constnet::{Net, nn::{Build, Relu}};
use constnet::rand::{SeedableRng, rngs::StdRng};

type Cnn = Net![Input<1, 28, 28>, Conv2d<1, 8, 5>, Relu, MaxPool2d<2>, Conv2d<8, 16, 5>, Relu, MaxPool2d<2>, Flatten, Linear<4600, 64>, Relu, Linear<64, 10>];

fn main() {
    let _net = Cnn::init(&mut StdRng::seed_from_u64(0));
}
