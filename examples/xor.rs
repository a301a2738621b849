//! Learns XOR, the classic problem that no linear model can solve, with one hidden layer.
//!
//! `cargo run --release --example xor`

use constnet::rand::SeedableRng;
use constnet::rand::rngs::StdRng;
use constnet::{
    data::datasets,
    nn::{Init, Layer, Linear, SoftmaxCrossEntropy, Tanh},
    optim::Adam,
    seq,
    train::{Trainer, accuracy, argmax},
};

fn main() -> Result<(), constnet::Error> {
    let data = datasets::xor::<f32>();
    let mut rng = StdRng::seed_from_u64(0);
    // 2 inputs -> 8 hidden units (tanh) -> 2 classes. Writing `Linear::<7, 2>` as the last
    // layer would be a compile error: the hidden layer gives 8 values.
    let mut net = seq![
        Linear::<2, 8>::new(Init::XavierUniform, &mut rng),
        Tanh,
        Linear::<8, 2>::new(Init::XavierUniform, &mut rng),
    ];
    let history = Trainer::new(SoftmaxCrossEntropy, Adam::new(0.05)?)
        .epochs(300)
        .batch_size(4)
        .fit(&mut net, &data, None, &mut EveryHundred)?;

    println!("\ninput   -> class (scores)");
    for i in 0..data.len() {
        let (x, _) = data.sample(i);
        let scores = net.forward(&x);
        println!(
            "({}, {}) -> {}     ({:+.2}, {:+.2})",
            x[0],
            x[1],
            argmax(scores.as_slice()),
            scores[0],
            scores[1]
        );
    }
    let last = history.last().expect("300 epochs ran");
    println!(
        "\naccuracy {:.0}% after {} epochs (final loss {:.4})",
        100.0 * accuracy(&net, &data),
        last.epoch,
        last.train_loss
    );
    Ok(())
}

/// Prints every hundredth epoch.
struct EveryHundred;

impl constnet::train::Callback<f32> for EveryHundred {
    fn on_epoch(
        &mut self,
        _: &mut dyn constnet::train::Params<f32>,
        report: &constnet::train::EpochReport,
    ) -> Result<std::ops::ControlFlow<()>, constnet::Error> {
        if report.epoch.is_multiple_of(100) || report.epoch == 1 {
            println!("{report}");
        }
        Ok(std::ops::ControlFlow::Continue(()))
    }
}
