//! Trains the reference convolutional network on MNIST: PyTorch's
//! `nn.Sequential(Conv2d(1, 8, 5), ReLU(), MaxPool2d(2), Conv2d(8, 16, 5), ReLU(), MaxPool2d(2),
//! Flatten(), Linear(256, 64), ReLU(), Linear(64, 10))`, every shape checked by the compiler.
//!
//! `cargo run --release --example mnist_cnn` trains it with the default settings (chosen on a
//! validation split held out of the training images, never on the test set) and tests it on
//! the 10,000 test images; `--help` lists the options. `--save` writes the weights under
//! `nn.Sequential`'s names, so that PyTorch's `load_state_dict(strict=True)` takes them.

#[path = "common/mnist_nets.rs"]
mod nets;

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use constnet::data::mnist::{self, MnistSet};
use constnet::rand::SeedableRng;
use constnet::rand::rngs::StdRng;
use constnet::{
    io,
    nn::{Build, SoftmaxCrossEntropy, summary},
    optim::Adam,
    train::{Callback, EpochReport, Order, Params, Schedule, Trainer, evaluate},
};

/// Training images held out by `--validate`.
const HELD_OUT: usize = 10_000;

const HELP: &str = "\
Train a convolutional network, its shapes checked at compile time, on MNIST.

Usage: cargo run --release --example mnist_cnn -- [OPTIONS]

Options:
  --data-dir DIR     where the four MNIST files are, gzip'd or raw [default: data/mnist]
  --epochs N         passes over the training images [default: 16]
  --batch-size N     minibatch size [default: 64]
  --lr RATE          Adam's first learning rate, decayed on a cosine schedule [default: 0.003]
  --seed N           seed for initialisation and shuffling [default: 0]
  --threads N        threads for the minibatch passes; results are identical for any N [default: 1]
  --validate         train on the first 50,000 training images and report the accuracy on
                     the last 10,000 after each epoch (how the defaults were chosen)
  --save PATH        save the trained weights (safetensors, nn.Sequential's names and layout)
  --load PATH        evaluate saved weights on the test set instead of training
  --filters PATH     draw the first layer's learned filters (PNG)
  --outputs PATH     write the test images (PATH.in) and the network's outputs on them
                     (PATH.out), little-endian f32, to compare with another runtime
  -h, --help         print this help";

struct Options {
    data_dir: PathBuf,
    epochs: usize,
    batch_size: usize,
    lr: f64,
    seed: u64,
    threads: usize,
    validate: bool,
    save: Option<PathBuf>,
    load: Option<PathBuf>,
    filters: Option<PathBuf>,
    outputs: Option<PathBuf>,
}

fn parse_args() -> Result<Options, lexopt::Error> {
    use lexopt::prelude::*;
    let mut o = Options {
        data_dir: PathBuf::from("data/mnist"),
        epochs: 16,
        batch_size: 64,
        lr: 3e-3,
        seed: 0,
        threads: 1,
        validate: false,
        save: None,
        load: None,
        filters: None,
        outputs: None,
    };
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("data-dir") => o.data_dir = parser.value()?.into(),
            Long("epochs") => o.epochs = parser.value()?.parse()?,
            Long("batch-size") => o.batch_size = parser.value()?.parse()?,
            Long("lr") => o.lr = parser.value()?.parse()?,
            Long("seed") => o.seed = parser.value()?.parse()?,
            Long("threads") => o.threads = parser.value()?.parse()?,
            Long("validate") => o.validate = true,
            Long("save") => o.save = Some(parser.value()?.into()),
            Long("load") => o.load = Some(parser.value()?.into()),
            Long("outputs") => o.outputs = Some(parser.value()?.into()),
            Long("filters") => o.filters = Some(parser.value()?.into()),
            Short('h') | Long("help") => {
                println!("{HELP}");
                std::process::exit(0);
            }
            _ => return Err(arg.unexpected()),
        }
    }
    if o.epochs == 0 || o.batch_size == 0 || o.threads == 0 {
        return Err("--epochs, --batch-size and --threads must be at least 1".into());
    }
    if !(o.lr.is_finite() && o.lr > 0.0) {
        return Err("--lr must be a positive number".into());
    }
    Ok(o)
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}\n\nRun with --help for the options.");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn report_test(net: &nets::Cnn, test: &MnistSet) -> Result<(), Box<dyn std::error::Error>> {
    let result = evaluate(net, &SoftmaxCrossEntropy, test)?;
    println!(
        "\ntest accuracy {:.2}% (loss {:.4}) on {} images",
        100.0 * result.accuracy.unwrap_or(0.0),
        result.loss,
        test.len()
    );
    Ok(())
}

/// A line per epoch.
struct Lines {
    validation: &'static str,
}

impl Callback<f32> for Lines {
    fn on_epoch(
        &mut self,
        _: &mut dyn Params<f32>,
        report: &EpochReport,
    ) -> Result<ControlFlow<()>, constnet::Error> {
        println!(
            "epoch {:>2}: training loss {:.4}, {} accuracy {:.2}%, learning rate {:.5}, {:.2} s",
            report.epoch,
            report.train_loss,
            self.validation,
            100.0
                * report
                    .validation
                    .as_ref()
                    .and_then(|v| v.accuracy)
                    .unwrap_or(0.0),
            report.learning_rate,
            report.train_time.as_secs_f64()
        );
        Ok(ControlFlow::Continue(()))
    }
}

fn run(o: &Options) -> Result<(), Box<dyn std::error::Error>> {
    let wall = Instant::now();
    let data = mnist::load_mnist(&o.data_dir).map_err(|e| match e {
        constnet::Error::FileNotFound { .. } => format!(
            "{e}\nThey must be in {}; pass --data-dir to look elsewhere.",
            o.data_dir.display()
        ),
        other => other.to_string(),
    })?;
    let mut net = nets::Cnn::init(&mut StdRng::seed_from_u64(o.seed));
    println!("network (shapes C x H x W):\n{}", summary(&net));

    if let Some(path) = &o.load {
        io::load_safetensors(&mut net, path)?;
        println!("loaded weights from {}", path.display());
        if let Some(path) = &o.outputs {
            nets::write_outputs(&net, &data.test, path)?;
        }
        return report_test(&net, &data.test);
    }

    let split;
    let (train, validation, name) = if o.validate {
        let n = data.train.len();
        let kept = n
            .checked_sub(HELD_OUT)
            .filter(|&k| k > 0)
            .ok_or("too few training images to hold 10,000 out")?;
        split = (data.train.subset(0..kept), data.train.subset(kept..n));
        (&split.0, &split.1, "validation")
    } else {
        (&data.train, &data.test, "test")
    };
    println!(
        "training {} epochs on {} images, batch {}, Adam (learning rate {}, cosine schedule), seed {}, {} thread{}",
        o.epochs,
        train.len(),
        o.batch_size,
        o.lr,
        o.seed,
        o.threads,
        if o.threads == 1 { "" } else { "s" }
    );
    let mut trainer = Trainer::new(SoftmaxCrossEntropy, Adam::new(o.lr)?)
        .epochs(o.epochs)
        .batch_size(o.batch_size)
        .order(Order::Shuffled { seed: o.seed })
        .schedule(Schedule::Cosine {
            epochs: o.epochs,
            min_lr: 0.0,
        });
    let mut lines = Lines { validation: name };
    let history = constnet::with_threads(o.threads, || {
        trainer.fit(&mut net, train, Some(validation), &mut lines)
    })??;

    report_test(&net, &data.test)?;
    let training: Duration = history.iter().map(|r| r.train_time).sum();
    println!(
        "training time {:.2} s ({:.2} s per epoch), total time {:.2} s",
        training.as_secs_f64(),
        training.as_secs_f64() / history.len().max(1) as f64,
        wall.elapsed().as_secs_f64()
    );
    if let Some(path) = &o.save {
        let entries = [(nets::CNN_ARCHITECTURE, nets::CNN_DESCRIPTION)];
        io::save_safetensors_described(&net, &[], &entries, path)?;
        println!("saved weights to {}", path.display());
    }
    if let Some(path) = &o.outputs {
        nets::write_outputs(&net, &data.test, path)?;
    }
    if let Some(path) = &o.filters {
        draw_filters(
            net.first()
                .first()
                .first()
                .first()
                .first()
                .first()
                .first()
                .first()
                .first()
                .weight(),
            path,
        )?;
        println!("drew the first layer's filters to {}", path.display());
    }
    Ok(())
}

/// The 8 learned 5x5 filters of the first layer side by side, each scaled to its own range
/// (black lowest, white highest), 20 pixels to a weight.
fn draw_filters(weight: &[f32], path: &PathBuf) -> Result<(), Box<dyn std::error::Error>> {
    const SCALE: u32 = 20;
    const GAP: u32 = 10;
    let filters: Vec<&[f32]> = weight.chunks_exact(25).collect();
    let width = filters.len() as u32 * (5 * SCALE + GAP) + GAP;
    let height = 5 * SCALE + 2 * GAP;
    let mut image = image::RgbImage::from_pixel(width, height, image::Rgb([255, 255, 255]));
    for (k, filter) in filters.iter().enumerate() {
        let (lo, hi) = filter
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        let x0 = GAP + k as u32 * (5 * SCALE + GAP);
        for (i, &v) in filter.iter().enumerate() {
            let level = (255.0 * (v - lo) / (hi - lo).max(f32::EPSILON)).round() as u8;
            let (r, c) = (i as u32 / 5, i as u32 % 5);
            for dy in 0..SCALE {
                for dx in 0..SCALE {
                    image.put_pixel(
                        x0 + c * SCALE + dx,
                        GAP + r * SCALE + dy,
                        image::Rgb([level; 3]),
                    );
                }
            }
        }
    }
    let mut bytes = Vec::new();
    image.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageOutputFormat::Png,
    )?;
    io::write_atomic(path, &bytes)?;
    Ok(())
}
