//! Two interleaving moons are not linearly separable: a linear model tops out well below a
//! model with one hidden layer. Trains both and prints their test accuracies.
//!
//! `cargo run --release --example moons`

use constnet::rand::SeedableRng;
use constnet::rand::rngs::StdRng;
use constnet::{
    data::datasets,
    nn::{Init, Linear, Relu, SoftmaxCrossEntropy},
    optim::Adam,
    seq,
    train::{ConfusionMatrix, Trainer, accuracy},
};

fn main() -> Result<(), constnet::Error> {
    let (train, test) = datasets::two_moons::<f32>(1000, 0.1, 1).split_at(800);
    let mut rng = StdRng::seed_from_u64(9);

    let mut linear = Linear::<2, 2>::new(Init::XavierUniform, &mut rng);
    let mut hidden = seq![
        Linear::<2, 32>::new(Init::HeNormal, &mut rng),
        Relu,
        Linear::<32, 2>::new(Init::XavierUniform, &mut rng),
    ];

    let settings = |lr| -> Result<_, constnet::Error> {
        Ok(Trainer::new(SoftmaxCrossEntropy, Adam::new(lr)?)
            .epochs(100)
            .batch_size(32))
    };
    settings(0.01)?.fit(&mut linear, &train, Some(&test), &mut ())?;
    let history = settings(0.01)?.fit(&mut hidden, &train, Some(&test), &mut ())?;
    for report in history.iter().filter(|r| r.epoch % 20 == 0) {
        println!("hidden-layer model, {report}");
    }

    println!(
        "\ntest accuracy, linear model 2 -> 2:             {:.1}%",
        100.0 * accuracy(&linear, &test)
    );
    println!(
        "test accuracy, hidden layer 2 -> 32 (ReLU) -> 2: {:.1}%",
        100.0 * accuracy(&hidden, &test)
    );
    println!(
        "\nconfusion matrix of the hidden-layer model on the test set:\n{}",
        ConfusionMatrix::of(&hidden, &test)
    );
    Ok(())
}
