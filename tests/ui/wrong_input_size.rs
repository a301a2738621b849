use constnet::nn::{Layer, Linear, Relu};
use nalgebra::SVector;

fn main() {
    let net = Linear::<2, 16>::zeros().then(Relu).then(Linear::<16, 3>::zeros());
    let _y = net.forward(&SVector::<f32, 3>::zeros());
}
