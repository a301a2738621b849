use constnet::nalgebra::SVector;
use constnet::{Batch, Layer, Param, ParamMut};

/// A layer of one's own that forgot to say which input size it takes.
struct Double;

impl<const N: usize> Layer<f32, N, N> for Double {
    type Tape = ();
    type BatchTape = ();
    fn forward_tape(&self, x: &SVector<f32, N>, _: &mut ()) -> SVector<f32, N> {
        x * 2.0
    }
    fn backward(&mut self, _: &SVector<f32, N>, _: &SVector<f32, N>, dy: &SVector<f32, N>, _: &()) -> SVector<f32, N> {
        dy * 2.0
    }
    fn forward_batch(&self, x: &Batch<f32, N>, y: &mut Batch<f32, N>, _: &mut ()) {
        *y = x * 2.0;
    }
    fn backward_batch(&mut self, _: &Batch<f32, N>, _: &Batch<f32, N>, dy: &Batch<f32, N>, dx: Option<&mut Batch<f32, N>>, _: &mut ()) {
        if let Some(dx) = dx {
            *dx = dy * 2.0;
        }
    }
    fn visit_params<F: FnMut(Param<'_, f32>)>(&self, _: usize, _: &mut F) {}
    fn visit_params_mut<F: FnMut(ParamMut<'_, f32>)>(&mut self, _: usize, _: &mut F) {}
}

fn main() {}
