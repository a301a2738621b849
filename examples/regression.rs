//! Squared against absolute error: a 1-32-32-1 network fits a noisy sine that has a cluster
//! of outliers, once with each loss. The squared-error fit is pulled towards the outliers;
//! the absolute-error fit ignores them.
//!
//! `cargo run --release --example regression [-- --out DIR --epochs N --seed N]`

mod common;

use std::f64::consts::PI;

use common::{Panel, Series, draw_panel};
use constnet::nalgebra::SVector;
use constnet::rand::rngs::StdRng;
use constnet::rand::{RngExt, SeedableRng};
use constnet::{
    data::Dataset,
    nn::{Init, Layer, Linear, Loss, Mae, Mse, Tanh},
    optim::Adam,
    train::{EpochReport, Trainer, evaluate},
};

type Curve = Dataset<f32, 1, SVector<f32, 1>>;

fn main() -> std::process::ExitCode {
    common::exit_on_error(|| {
        let options = common::lesson_options(300, 0)?;
        let mut rng = StdRng::seed_from_u64(options.seed);
        // 200 points of sin(x) plus uniform noise in [−0.2, 0.2] on [−π, π], of which 12
        // near x = 1 are lifted by 3: outliers that all pull the same way.
        let samples: Vec<(f64, f64)> = (0..200)
            .map(|i| {
                if i < 12 {
                    let x: f64 = rng.random_range(0.6..1.4);
                    (x, x.sin() + 3.0)
                } else {
                    let x: f64 = rng.random_range(-PI..PI);
                    (x, x.sin() + rng.random_range(-0.2..0.2))
                }
            })
            .collect();
        let train = to_dataset(&samples)?;
        let clean: Vec<(f64, f64)> = (0..200)
            .map(|i| -PI + 2.0 * PI * (i as f64 + 0.5) / 200.0)
            .map(|x| (x, x.sin()))
            .collect();
        let test = to_dataset(&clean)?;

        let (mse_net, mse_history) = fit(Mse, &train, &options)?;
        let (mae_net, mae_history) = fit(Mae, &train, &options)?;

        println!("test error against the clean sine (200 points on [-π, π]):");
        println!("{:<24} {:>10} {:>10}", "model", "MSE", "MAE");
        for (name, net) in [
            ("trained with MSE", &mse_net),
            ("trained with MAE", &mae_net),
        ] {
            let mse = evaluate(net, &Mse, &test)?.loss;
            let mae = evaluate(net, &Mae, &test)?.loss;
            println!("{name:<24} {mse:>10.4} {mae:>10.4}");
        }
        let at_outliers = |net: &Net| net.forward(&SVector::from([1.0f32]))[0];
        println!(
            "prediction at x = 1 (sin 1 = {:.3}): MSE fit {:.3}, MAE fit {:.3}",
            1f64.sin(),
            at_outliers(&mse_net),
            at_outliers(&mae_net)
        );

        let fit_curve = |net: &Net| Series {
            name: String::new(),
            points: clean
                .iter()
                .map(|&(x, _)| (x, net.forward(&SVector::from([x as f32]))[0] as f64))
                .collect(),
        };
        let path = options.out.join("regression.png");
        common::write_png(&path, (1280, 520), |root| {
            let areas = root.split_evenly((1, 2));
            draw_fits(
                &areas[0],
                &samples,
                &clean,
                fit_curve(&mse_net),
                fit_curve(&mae_net),
            )?;
            draw_panel(
                &areas[1],
                &Panel {
                    title: "training loss per epoch".into(),
                    x_label: "epoch".into(),
                    y_label: "mean loss on the training data".into(),
                    series: vec![
                        losses("squared error (MSE fit)", &mse_history),
                        losses("absolute error (MAE fit)", &mae_history),
                    ],
                },
            )
        })?;
        println!("plot in {}", path.display());
        Ok(())
    })
}

type Net = constnet::nn::Chain<
    constnet::nn::Chain<
        constnet::nn::Chain<constnet::nn::Chain<Linear<1, 32>, Tanh, 32>, Linear<32, 32>, 32>,
        Tanh,
        32,
    >,
    Linear<32, 1>,
    32,
>;

fn to_dataset(points: &[(f64, f64)]) -> Result<Curve, constnet::Error> {
    Dataset::from_samples(
        points
            .iter()
            .map(|&(x, y)| (SVector::from([x as f32]), SVector::from([y as f32]))),
    )
}

fn fit<L: Loss<f32, 1, Target = SVector<f32, 1>>>(
    loss: L,
    train: &Curve,
    options: &common::LessonOptions,
) -> Result<(Net, Vec<EpochReport>), constnet::Error> {
    let mut rng = StdRng::seed_from_u64(options.seed + 1);
    let mut net = Linear::new(Init::XavierUniform, &mut rng)
        .then(Tanh)
        .then(Linear::new(Init::XavierUniform, &mut rng))
        .then(Tanh)
        .then(Linear::new(Init::XavierUniform, &mut rng));
    let history = Trainer::new(loss, Adam::new(0.01)?)
        .epochs(options.epochs)
        .batch_size(16)
        .lr_decay(0.995)
        .order(constnet::train::Order::Shuffled { seed: options.seed })
        .fit(&mut net, train, None, &mut ())?;
    Ok((net, history))
}

fn losses(name: &str, history: &[EpochReport]) -> Series {
    Series {
        name: name.into(),
        points: history
            .iter()
            .map(|r| (r.epoch as f64, r.train_loss))
            .collect(),
    }
}

fn draw_fits<DB: plotters::prelude::DrawingBackend>(
    area: &plotters::prelude::DrawingArea<DB, plotters::coord::Shift>,
    samples: &[(f64, f64)],
    clean: &[(f64, f64)],
    mse: Series,
    mae: Series,
) -> Result<(), Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    use plotters::prelude::*;
    let mut chart = ChartBuilder::on(area)
        .caption("noisy sine with outliers: two fits", ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(-PI..PI, -1.6..4.4)?;
    chart
        .configure_mesh()
        .x_desc("x")
        .y_desc("y")
        .label_style(("sans-serif", 14))
        .draw()?;
    chart
        .draw_series(
            samples
                .iter()
                .map(|&(x, y)| Circle::new((x, y), 3, RGBColor(120, 120, 120).filled())),
        )?
        .label("training data (12 outliers near x = 1)")
        .legend(|(x, y)| Circle::new((x + 10, y), 3, RGBColor(120, 120, 120).filled()));
    let lines = [
        ("sin x", clean.to_vec(), BLACK),
        ("fit with squared error", mse.points, common::COLOURS[3]),
        ("fit with absolute error", mae.points, common::COLOURS[0]),
    ];
    for (name, points, colour) in lines {
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(3)))?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(3))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()?;
    Ok(())
}
