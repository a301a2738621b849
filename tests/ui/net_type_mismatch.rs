use constnet::{Net, nn::{Build, Linear, Relu}};
use constnet::rand::{SeedableRng, rngs::StdRng};

// 784 -> 128, then a layer that takes 100.
type Mlp = Net![Linear<784, 128>, Relu, Linear<100, 10>];

struct App {
    net: Mlp,
}

fn main() {
    let app = App { net: Mlp::init(&mut StdRng::seed_from_u64(0)) };
    let _ = app.net;
}
