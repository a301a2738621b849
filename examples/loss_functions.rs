//! The losses of the lesson side by side, computed with the library's own implementations:
//! absolute and squared error against the residual, and the 0-1 and logistic
//! (cross-entropy) losses against the probability given to the true class.
//!
//! `cargo run --release --example loss_functions [-- --out DIR]`

mod common;

use common::{Panel, Series};
use constnet::nalgebra::SVector;
use constnet::nn::{CrossEntropy, Loss, Mae, Mse};

fn main() -> std::process::ExitCode {
    common::exit_on_error(|| {
        let options = common::lesson_options(0, 0)?;
        let mut grad1 = SVector::<f64, 1>::zeros();
        let mut grad2 = SVector::<f64, 2>::zeros();
        let target = SVector::from([0.0]);

        // Regression losses of one output against the residual r = y − t.
        let residuals: Vec<f64> = (0..=400).map(|i| -2.0 + 4.0 * i as f64 / 400.0).collect();
        let squared: Vec<(f64, f64)> = residuals
            .iter()
            .map(|&r| (r, Mse.sample(&SVector::from([r]), &target, &mut grad1)))
            .collect();
        let absolute: Vec<(f64, f64)> = residuals
            .iter()
            .map(|&r| (r, Mae.sample(&SVector::from([r]), &target, &mut grad1)))
            .collect();

        // Classification losses of two classes against p, the probability of the true class 1.
        let probabilities: Vec<f64> = (1..=400).map(|i| i as f64 / 400.0).collect();
        let logistic: Vec<(f64, f64)> = probabilities
            .iter()
            .map(|&p| {
                (
                    p,
                    CrossEntropy.sample(&SVector::from([1.0 - p, p]), &1, &mut grad2),
                )
            })
            .filter(|&(_, l)| l <= 4.0)
            .collect();
        let zero_one: Vec<(f64, f64)> = probabilities
            .iter()
            .map(|&p| {
                let correct =
                    CrossEntropy.is_correct(&SVector::from([1.0 - p, p]), &1) == Some(true);
                (p, if correct { 0.0 } else { 1.0 })
            })
            .collect();

        println!("{:>9} {:>10} {:>10}", "residual", "squared", "absolute");
        for i in (0..=400).step_by(50) {
            println!(
                "{:>9.2} {:>10.4} {:>10.4}",
                residuals[i], squared[i].1, absolute[i].1
            );
        }
        println!("\n{:>9} {:>10} {:>10}", "p(true)", "0-1", "logistic");
        for p in [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99] {
            let y = SVector::from([1.0 - p, p]);
            let zero_one = if CrossEntropy.is_correct(&y, &1) == Some(true) {
                0.0
            } else {
                1.0
            };
            println!(
                "{:>9.2} {:>10.0} {:>10.4}",
                p,
                zero_one,
                CrossEntropy.sample(&y, &1, &mut grad2)
            );
        }

        let series = |name: &str, points: Vec<(f64, f64)>| Series {
            name: name.into(),
            points,
        };
        let path = options.out.join("loss_functions.png");
        common::plot_panels(
            &path,
            &[
                Panel {
                    title: "regression losses".into(),
                    x_label: "residual y − t".into(),
                    y_label: "loss".into(),
                    series: vec![
                        series("squared error (y − t)²", squared),
                        series("absolute error |y − t|", absolute),
                    ],
                },
                Panel {
                    title: "classification losses".into(),
                    x_label: "predicted probability of the true class".into(),
                    y_label: "loss".into(),
                    series: vec![
                        series("0-1 loss", zero_one),
                        series("logistic / cross-entropy −ln p", logistic),
                    ],
                },
            ],
        )?;
        println!("\nplot in {}", path.display());
        Ok(())
    })
}
