use constnet::{seq, data::Dataset, nn::{Init, Linear, LogisticLoss, Relu}, optim::Sgd, train::Trainer};
use constnet::rand::{SeedableRng, rngs::StdRng};

fn main() {
    let mut rng = StdRng::seed_from_u64(0);
    // Three outputs, but the logistic loss takes one logit.
    let mut net = seq![
        Linear::<2, 16>::new(Init::HeNormal, &mut rng),
        Relu,
        Linear::<16, 3>::new(Init::XavierUniform, &mut rng),
    ];
    let data = Dataset::<f32, 2, f32>::from_rows(&[0.0, 1.0], vec![1.0]).unwrap();
    let _ = Trainer::new(LogisticLoss, Sgd::new(0.1).unwrap()).fit(&mut net, &data, None, &mut ());
}
