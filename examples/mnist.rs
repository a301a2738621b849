//! Trains a multi-layer perceptron on MNIST, the project's main job.
//!
//! `cargo run --release --example mnist` trains the default network (784-256-10 with ReLU,
//! Adam at 0.002 decayed ×0.7 per epoch, batch 64, 10 epochs) on the 60,000 bundled training
//! images and tests it on the 10,000 test images; `--help` lists the options, among them the
//! lesson's experiments with `--layers 1|2|3` and `--activation relu|tanh|sigmoid`. Each
//! choice is a different compile-time type, named in one line with `Net!` and chosen at run
//! time through `Box<dyn Model>`; the optimizer likewise through `Box<dyn Optimizer>`.

mod common;

use std::fmt;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use constnet::mnist::{self, MnistSet};
use constnet::rand::SeedableRng;
use constnet::rand::rngs::StdRng;
use constnet::{
    Adam, Build, ConfusionMatrix, EpochReport, Layer, Linear, Model, Net, Observer, Optimizer,
    Order, Relu, Sgd, Sigmoid, SoftmaxCrossEntropy, Tanh, Trainer, evaluate, io, summary,
};
use indicatif::{ProgressBar, ProgressStyle};

/// `--layers 2`: one hidden layer of 256; `--layers 3`: two, of 256 and 128.
type OneHidden<A> = Net![Linear<784, 256>, A, Linear<256, 10>];
type TwoHidden<A> = Net![Linear<784, 256>, A, Linear<256, 128>, A, Linear<128, 10>];

/// Any of the networks, chosen at run time.
type Classifier = Box<dyn Model<f32, 784, 10>>;

/// The network of `layers` layers with hidden activation `A`, built from its type (He
/// initialisation before ReLU, Glorot otherwise).
fn network<A>(layers: u8, rng: &mut StdRng) -> Classifier
where
    A: Build + Layer<f32, 256, 256> + Layer<f32, 128, 128> + 'static,
{
    match layers {
        1 => Box::new(Linear::<784, 10>::init(rng)),
        2 => Box::new(OneHidden::<A>::init(rng)),
        _ => Box::new(TwoHidden::<A>::init(rng)),
    }
}

type MakeNetwork = fn(u8, &mut StdRng) -> Classifier;
type MakeOptimizer = fn(f64) -> Result<Box<dyn Optimizer<f32>>, constnet::Error>;

/// `--activation`: name, and the networks with it.
const ACTIVATIONS: [(&str, MakeNetwork); 3] = [
    ("relu", network::<Relu>),
    ("tanh", network::<Tanh>),
    ("sigmoid", network::<Sigmoid>),
];

/// `--optimizer`: name, default learning rate, and the optimizer at a given rate.
const OPTIMIZERS: [(&str, f64, MakeOptimizer); 3] = [
    ("sgd", 0.1, |lr| Ok(Box::new(Sgd::new(lr)?))),
    ("momentum", 0.05, |lr| {
        Ok(Box::new(Sgd::new(lr)?.momentum(0.9)?))
    }),
    ("adam", 2e-3, |lr| Ok(Box::new(Adam::new(lr)?))),
];

/// The entry of `table` named `name`, or an error listing the names.
fn choose<T: Copy>(flag: &str, name: &str, table: &[(&str, T)]) -> Result<T, lexopt::Error> {
    table
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, t)| t)
        .ok_or_else(|| {
            let names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
            format!(
                "--{flag}: unknown `{name}`, expected one of {}",
                names.join(", ")
            )
            .into()
        })
}

const HELP: &str = "\
Train a compile-time-typed MLP on MNIST.

Usage: cargo run --release --example mnist -- [OPTIONS]

Options:
  --data-dir DIR        where the four MNIST files are, gzip'd or raw [default: data/mnist]
  --epochs N            passes over the 60,000 training images [default: 10]
  --batch-size N        minibatch size [default: 64]
  --lr RATE             learning rate [default: 0.002 for adam, 0.1 for sgd, 0.05 for momentum]
  --lr-decay GAMMA      multiply the learning rate by GAMMA after each epoch [default: 0.7]
  --optimizer NAME      sgd | momentum | adam [default: adam]
  --seed N              seed for initialisation and shuffling [default: 0]
  --threads N           threads for the matrix products; results are identical for any N [default: 1]
  --layers N            1: 784-10;  2: 784-256-10;  3: 784-256-128-10 [default: 2]
  --activation NAME     relu | tanh | sigmoid, for the hidden layers [default: relu]
  --save PATH           save the trained weights (safetensors, PyTorch names and layout)
  --load PATH           evaluate saved weights on the test set instead of training
  --metrics PATH        write a CSV row per epoch: loss, accuracies, max |w| of each layer
  --plot PATH           draw training vs validation accuracy and max |w| per epoch (PNG)
  -h, --help            print this help

The validation set, evaluated after every epoch, is the 10,000 MNIST test images.";

#[derive(Debug)]
struct Options {
    data_dir: PathBuf,
    epochs: usize,
    batch_size: usize,
    lr: Option<f64>,
    lr_decay: f64,
    optimizer: String,
    seed: u64,
    threads: usize,
    layers: u8,
    activation: String,
    save: Option<PathBuf>,
    load: Option<PathBuf>,
    metrics: Option<PathBuf>,
    plot: Option<PathBuf>,
}

/// The value of `--flag`, parsed; an error names the flag and the value.
fn flag_value<T>(parser: &mut lexopt::Parser, flag: &str) -> Result<T, lexopt::Error>
where
    T: std::str::FromStr,
    T::Err: fmt::Display,
{
    use lexopt::ValueExt;
    let value = parser
        .value()
        .map_err(|e| format!("--{flag}: {e}"))?
        .string()
        .map_err(|e| format!("--{flag}: {e}"))?;
    value
        .parse()
        .map_err(|e| format!("--{flag}: cannot use {value:?}: {e}").into())
}

fn parse_args() -> Result<Options, lexopt::Error> {
    use lexopt::prelude::*;
    let mut o = Options {
        data_dir: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist")),
        epochs: 10,
        batch_size: 64,
        lr: None,
        lr_decay: 0.7,
        optimizer: "adam".into(),
        seed: 0,
        threads: 1,
        layers: 2,
        activation: "relu".into(),
        save: None,
        load: None,
        metrics: None,
        plot: None,
    };
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("data-dir") => o.data_dir = parser.value()?.into(),
            Long("epochs") => o.epochs = flag_value(&mut parser, "epochs")?,
            Long("batch-size") => o.batch_size = flag_value(&mut parser, "batch-size")?,
            Long("lr") => o.lr = Some(flag_value(&mut parser, "lr")?),
            Long("lr-decay") => o.lr_decay = flag_value(&mut parser, "lr-decay")?,
            Long("seed") => o.seed = flag_value(&mut parser, "seed")?,
            Long("threads") => o.threads = flag_value(&mut parser, "threads")?,
            Long("save") => o.save = Some(parser.value()?.into()),
            Long("load") => o.load = Some(parser.value()?.into()),
            Long("metrics") => o.metrics = Some(parser.value()?.into()),
            Long("plot") => o.plot = Some(parser.value()?.into()),
            Long("optimizer") => o.optimizer = flag_value(&mut parser, "optimizer")?,
            Long("activation") => o.activation = flag_value(&mut parser, "activation")?,
            Long("layers") => {
                o.layers = flag_value(&mut parser, "layers")?;
                if !(1..=3).contains(&o.layers) {
                    return Err(format!("--layers must be 1, 2 or 3, not {}", o.layers).into());
                }
            }
            Short('h') | Long("help") => {
                println!("{HELP}");
                std::process::exit(0);
            }
            _ => return Err(arg.unexpected()),
        }
    }
    let optimizers = OPTIMIZERS.map(|(name, _, make)| (name, make));
    choose("optimizer", &o.optimizer, &optimizers)?;
    choose("activation", &o.activation, &ACTIVATIONS)?;
    // Fail now, not after minutes of training, if a result could not be written.
    for (flag, path) in [
        ("save", &o.save),
        ("metrics", &o.metrics),
        ("plot", &o.plot),
    ] {
        if let Some(path) = path {
            constnet::check_writable(path).map_err(|e| format!("--{flag}: {e}"))?;
        }
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

fn load_data(o: &Options) -> Result<mnist::Mnist, Box<dyn std::error::Error>> {
    let start = Instant::now();
    let data = mnist::load_mnist(&o.data_dir).map_err(|e| match e {
        constnet::Error::FileNotFound { .. } => format!(
            "{e}\nThe four MNIST files ({}, each optionally .gz) must be in {}; pass --data-dir to look elsewhere.",
            mnist::FILES.join(", "),
            o.data_dir.display()
        ),
        other => other.to_string(),
    })?;
    println!(
        "loaded {} training and {} test images from {} in {:.2} s",
        data.train.len(),
        data.test.len(),
        o.data_dir.display(),
        start.elapsed().as_secs_f64()
    );
    Ok(data)
}

fn report_test(net: &Classifier, test: &MnistSet) -> Result<(), Box<dyn std::error::Error>> {
    let result = evaluate(net, &SoftmaxCrossEntropy, test)?;
    println!(
        "\ntest accuracy {:.2}% (loss {:.4}) on {} images",
        100.0 * result.accuracy.unwrap_or(0.0),
        result.loss,
        test.len()
    );
    println!(
        "\nconfusion matrix (rows: true digit, columns: predicted digit)\n{}",
        ConfusionMatrix::of(net, test)
    );
    Ok(())
}

fn run(o: &Options) -> Result<(), Box<dyn std::error::Error>> {
    let wall = Instant::now();
    let data = load_data(o)?;
    let make = choose("activation", &o.activation, &ACTIVATIONS)?;
    let mut net = make(o.layers, &mut StdRng::seed_from_u64(o.seed));
    let table = summary(&net);
    let widths: Vec<String> = std::iter::once(784)
        .chain(
            table
                .layers
                .iter()
                .filter(|l| l.params > 0)
                .map(|l| l.outputs),
        )
        .map(|n| n.to_string())
        .collect();
    let name = match o.layers {
        1 => format!("{} (linear)", widths.join("-")),
        _ => format!("{} ({})", widths.join("-"), o.activation),
    };
    println!("network {name}:\n{table}");

    if let Some(path) = &o.load {
        io::load_safetensors(&mut net, path)?;
        println!("loaded weights from {}", path.display());
        return report_test(&net, &data.test);
    }

    let (_, default_lr, make_optimizer) = OPTIMIZERS
        .into_iter()
        .find(|(n, _, _)| *n == o.optimizer)
        .expect("checked when parsing");
    let optimizer = make_optimizer(o.lr.unwrap_or(default_lr))?;
    println!(
        "training {} epochs, batch {}, {} (learning rate {}, ×{} per epoch), seed {}, {} thread{}",
        o.epochs,
        o.batch_size,
        o.optimizer,
        optimizer.learning_rate(),
        o.lr_decay,
        o.seed,
        o.threads,
        if o.threads == 1 { "" } else { "s" }
    );
    let mut progress = Progress::new(o.epochs);
    let mut trainer = Trainer::new(SoftmaxCrossEntropy, optimizer)
        .epochs(o.epochs)
        .batch_size(o.batch_size)
        .order(Order::Shuffled { seed: o.seed })
        .lr_decay(o.lr_decay);
    let history = constnet::with_threads(o.threads, || {
        trainer.fit(&mut net, &data.train, Some(&data.test), &mut progress)
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
        io::save_safetensors(&net, path)?;
        println!("saved weights to {}", path.display());
    }
    if let Some(path) = &o.metrics {
        constnet::write_atomic(path, metrics_csv(&history).as_bytes())?;
        println!("wrote per-epoch metrics to {}", path.display());
    }
    if let Some(path) = &o.plot {
        plot(path, &name, &history)?;
        println!("drew {}", path.display());
    }
    Ok(())
}

/// A progress bar per epoch with the running loss, and a line per finished epoch.
struct Progress {
    epochs: usize,
    bar: Option<ProgressBar>,
}

impl Progress {
    fn new(epochs: usize) -> Self {
        Progress { epochs, bar: None }
    }
}

impl Observer for Progress {
    fn on_batch(&mut self, p: &constnet::BatchProgress) {
        let bar = self.bar.get_or_insert_with(|| {
            let bar = ProgressBar::new(p.batches as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "epoch {prefix} [{bar:40}] {pos}/{len} batches, loss {msg} ({elapsed})",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            bar.set_prefix(format!("{}/{}", p.epoch, self.epochs));
            bar
        });
        bar.set_position(p.batch as u64);
        if p.batch.is_multiple_of(16) || p.batch == p.batches {
            bar.set_message(format!("{:.4}", p.running_loss));
        }
    }

    fn on_epoch(&mut self, r: &EpochReport) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let validation = r.validation.and_then(|v| v.accuracy).unwrap_or(f64::NAN);
        println!(
            "epoch {:>2}/{}: train loss {:.4}, train accuracy {:.2}%, test accuracy {:.2}%, {:.2} s",
            r.epoch,
            self.epochs,
            r.train_loss,
            100.0 * r.train_accuracy.unwrap_or(f64::NAN),
            100.0 * validation,
            r.train_time.as_secs_f64()
        );
    }
}

fn metrics_csv(history: &[EpochReport]) -> String {
    let layers = history.first().map_or(0, |r| r.max_abs_weights.len());
    let mut csv = String::from("epoch,train_loss,train_accuracy,validation_accuracy");
    for k in 1..=layers {
        csv.push_str(&format!(",max_abs_weight_layer{k}"));
    }
    csv.push('\n');
    for r in history {
        let validation = r.validation.and_then(|v| v.accuracy).unwrap_or(f64::NAN);
        csv.push_str(&format!(
            "{},{},{},{}",
            r.epoch,
            r.train_loss,
            r.train_accuracy.unwrap_or(f64::NAN),
            validation
        ));
        for w in &r.max_abs_weights {
            csv.push_str(&format!(",{w}"));
        }
        csv.push('\n');
    }
    csv
}

fn plot(
    path: &std::path::Path,
    name: &str,
    history: &[EpochReport],
) -> Result<(), Box<dyn std::error::Error>> {
    use common::{Panel, Series};
    let series = |label: &str, f: &dyn Fn(&EpochReport) -> f64| Series {
        name: label.to_string(),
        points: history.iter().map(|r| (r.epoch as f64, f(r))).collect(),
    };
    let accuracy = Panel {
        title: format!("MNIST {name}: accuracy"),
        x_label: "epoch".into(),
        y_label: "accuracy (%)".into(),
        series: vec![
            series("training", &|r| {
                100.0 * r.train_accuracy.unwrap_or(f64::NAN)
            }),
            series("validation (test set)", &|r| {
                100.0 * r.validation.and_then(|v| v.accuracy).unwrap_or(f64::NAN)
            }),
        ],
    };
    let layers = history.first().map_or(0, |r| r.max_abs_weights.len());
    let weights = Panel {
        title: "largest |weight| per layer".into(),
        x_label: "epoch".into(),
        y_label: "max |w|".into(),
        series: (0..layers)
            .map(|k| series(&format!("layer {}", k + 1), &|r| r.max_abs_weights[k]))
            .collect(),
    };
    common::plot_panels(path, &[accuracy, weights])
}
