use constnet::nalgebra::SVector;
use constnet::{Batch, Layer, Takes};

/// A layer with a parameter that did not say how to reach it: the optimizer and saving would
/// never see `scale`, so this does not compile.
struct Scale {
    scale: f32,
}

impl Takes<2> for Scale {}

impl Layer<f32, 2, 2> for Scale {
    type Tape = ();
    type BatchTape = ();
    fn forward_tape(&self, x: &SVector<f32, 2>, _: &mut ()) -> SVector<f32, 2> {
        x * self.scale
    }
    fn backward(&mut self, _: &SVector<f32, 2>, _: &SVector<f32, 2>, dy: &SVector<f32, 2>, _: &()) -> SVector<f32, 2> {
        dy * self.scale
    }
    fn forward_batch(&self, x: &Batch<f32, 2>, y: &mut Batch<f32, 2>, _: &mut ()) {
        *y = x * self.scale;
    }
    fn backward_batch(&mut self, _: &Batch<f32, 2>, _: &Batch<f32, 2>, dy: &Batch<f32, 2>, dx: Option<&mut Batch<f32, 2>>, _: &mut ()) {
        if let Some(dx) = dx {
            *dx = dy * self.scale;
        }
    }
}

fn main() {}
