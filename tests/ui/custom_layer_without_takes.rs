use constnet::nalgebra::SVector;
use constnet::{params, nn::Layer};

/// A layer of one's own that forgot to say which input size it takes.
struct Double;

impl<const N: usize> Layer<f32, N, N> for Double {
    type Tape = ();
    fn forward_tape(&self, x: &SVector<f32, N>) -> (SVector<f32, N>, ()) {
        (x * 2.0, ())
    }
    fn backward(&mut self, _: &SVector<f32, N>, _: &SVector<f32, N>, dy: &SVector<f32, N>, _: &()) -> SVector<f32, N> {
        dy * 2.0
    }
    params! { scalar f32; }
}

fn main() {}
