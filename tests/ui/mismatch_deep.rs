use constnet::{seq, nn::{Linear, Relu, Tanh}};

fn main() {
    let _net = seq![
        Linear::<2, 16>::zeros(),
        Tanh,
        Linear::<16, 16>::zeros(),
        Relu,
        Linear::<16, 8>::zeros(),
        Relu,
        Linear::<6, 3>::zeros(),
    ];
}
