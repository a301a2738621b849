use constnet::nalgebra::SVector;
use constnet::nn::{Layer, Takes};

/// A layer with a parameter that did not declare it: the optimizer and saving would never
/// see `scale`, so this does not compile (`params!` writes the missing items).
struct Scale {
    scale: f32,
}

impl Takes<2> for Scale {}

impl Layer<f32, 2, 2> for Scale {
    type Tape = ();
    fn forward_tape(&self, x: &SVector<f32, 2>) -> (SVector<f32, 2>, ()) {
        (x * self.scale, ())
    }
    fn backward(&mut self, _: &SVector<f32, 2>, _: &SVector<f32, 2>, dy: &SVector<f32, 2>, _: &()) -> SVector<f32, 2> {
        dy * self.scale
    }
}

fn main() {}
