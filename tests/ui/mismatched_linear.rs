use constnet::{nn::Layer, nn::Linear};

fn main() {
    let _net = Linear::<784, 128>::zeros().then(Linear::<100, 10>::zeros());
}
