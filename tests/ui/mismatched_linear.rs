use constnet::nn::{Layer, Linear};

fn main() {
    let _net = Linear::<784, 128>::zeros().then(Linear::<100, 10>::zeros());
}
