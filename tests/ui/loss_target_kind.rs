use constnet::nalgebra::SVector;
use constnet::{data::Dataset, nn::{Linear, SoftmaxCrossEntropy}, optim::Sgd, train::Trainer};

fn main() {
    let mut net = Linear::<4, 3>::zeros();
    // Vectors as targets, but softmax cross-entropy takes class labels.
    let data = Dataset::<f32, 4, SVector<f32, 3>>::from_rows(&[0.0; 4], vec![SVector::zeros()]).unwrap();
    let _ = Trainer::new(SoftmaxCrossEntropy, Sgd::new(0.1).unwrap()).fit(&mut net, &data, None, &mut ());
}
