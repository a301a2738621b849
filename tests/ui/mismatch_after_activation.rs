use constnet::nn::{Layer, Linear, Relu};

fn main() {
    let _net = Linear::<784, 128>::zeros()
        .then(Relu)
        .then(Linear::<100, 10>::zeros());
}
