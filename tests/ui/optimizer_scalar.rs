use constnet::nalgebra::SVector;
use constnet::{data::Dataset, nn::{Linear, Mse}, optim::Sgd, train::Trainer};

fn main() {
    // An f64 network and f64 data, but an optimizer of f32 values.
    let mut net = Linear::<8, 1, f64>::zeros();
    let data = Dataset::<f64, 8, SVector<f64, 1>>::from_rows(&[0.0; 8], vec![SVector::zeros()]).unwrap();
    let sgd = Sgd::<f32>::new(0.1).unwrap();
    let _ = Trainer::new(Mse, sgd).fit(&mut net, &data, None, &mut ());
}
