//! Trains a multi-layer perceptron on MNIST, the project's main job.
//!
//! `cargo run --release --example mnist` trains the default network (784-256-10 with ReLU,
//! Adam at 0.006 on a cosine schedule, batch 128, 5 epochs: at least 98.0% for every seed 0
//! to 4, in about 4.3 s on one thread here) on the 60,000 bundled training images and tests
//! it on the 10,000 test images; `--help` lists the options, among them the
//! lesson's experiments with `--layers 1|2|3` and `--activation relu|tanh|sigmoid`. Each
//! choice is a different compile-time type, named in one line with `Net!` and chosen at run
//! time through `Box<dyn Model>`; the optimizer likewise through `Box<dyn Optimizer>`.
//!
//! The lesson's overfitting lab: `--train-size 1000` trains on the first 1,000 images only,
//! holding out the last 10,000 training images as a validation set (the test set is never
//! used to choose anything); `--dropout P`, `--early-stop PATIENCE` (on the validation loss,
//! restoring the best epoch's weights) and `--schedule` are the remedies; `--plot` draws the
//! training and validation curves with the early-stopping point, and max |w| per layer.
//!
//! A modern small network: `--norm batch|layer` puts a `BatchNorm1d` or `LayerNorm` after
//! each hidden `Linear` (before its activation), `--residual` trains a two-hidden-layer
//! residual MLP (784-256, then a block `x + ReLU(Linear 256-256)`), `--optimizer adamw|rmsprop`
//! and `--clip NORM` (gradient clipping by the global norm) choose the update.

mod common;
#[path = "common/mnist_nets.rs"]
mod nets;

use std::fmt;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use constnet::data::mnist::{self, MnistSet};
use constnet::{
    io,
    nn::{SoftmaxCrossEntropy, summary},
    optim::{Adam, AdamW, Optimizer, RmsProp, Sgd},
    train::{
        Callback, Clip, ConfusionMatrix, EarlyStopping, EpochReport, Metric, Order, Params,
        Schedule, Trainer, evaluate,
    },
};
use indicatif::{ProgressBar, ProgressStyle};
use nets::{ARCHITECTURE, Architecture, Classifier};

type MakeSchedule = fn(&Options, f64) -> Schedule;

/// `--schedule`: name, and the schedule for the options and the base learning rate.
const SCHEDULES: [(&str, MakeSchedule); 7] = [
    ("exp", |o, _| Schedule::Exponential { gamma: o.lr_decay }),
    ("constant", |_, _| Schedule::Constant),
    ("step", |o, _| Schedule::Step {
        every: (o.epochs / 3).max(1),
        gamma: 0.1,
    }),
    ("cosine", |o, _| Schedule::Cosine {
        epochs: o.epochs,
        min_lr: 0.0,
    }),
    // One epoch leaves nothing to decay after a warm-up: it is the cosine's first epoch.
    ("warmup-cosine", |o, _| match o.epochs {
        0 | 1 => Schedule::Cosine {
            epochs: 1,
            min_lr: 0.0,
        },
        epochs => Schedule::WarmupCosine {
            warmup: (epochs / 10).max(1),
            epochs,
            min_lr: 0.0,
        },
    }),
    ("one-cycle", |o, lr| Schedule::one_cycle(o.epochs, lr)),
    ("plateau", |_, _| Schedule::ReduceOnPlateau {
        metric: Metric::ValidationLoss,
        factor: 0.5,
        patience: 2,
        threshold: 1e-4,
        min_lr: 0.0,
    }),
];
type MakeOptimizer = fn(f64) -> Result<Box<dyn Optimizer<f32>>, constnet::Error>;

/// `--optimizer`: name, default learning rate, and the optimizer at a given rate.
const OPTIMIZERS: [(&str, f64, MakeOptimizer); 5] = [
    ("sgd", 0.1, |lr| Ok(Box::new(Sgd::new(lr)?))),
    ("momentum", 0.05, |lr| {
        Ok(Box::new(Sgd::new(lr)?.momentum(0.9)?))
    }),
    ("adam", 6e-3, |lr| Ok(Box::new(Adam::new(lr)?))),
    ("adamw", 6e-3, |lr| Ok(Box::new(AdamW::new(lr)?))),
    ("rmsprop", 2e-3, |lr| Ok(Box::new(RmsProp::new(lr)?))),
];

/// The entry of `table` named `name`, or an error listing the names.
fn choose<T: Copy>(flag: &str, name: &str, table: &[(&str, T)]) -> Result<T, lexopt::Error> {
    nets::choose(flag, name, table).map_err(Into::into)
}

const HELP: &str = "\
Train a compile-time-typed MLP on MNIST.

Usage: cargo run --release --example mnist -- [OPTIONS]

Options:
  --data-dir DIR        where the four MNIST files are, gzip'd or raw [default: data/mnist]
  --epochs N            passes over the 60,000 training images [default: 5]
  --batch-size N        minibatch size [default: 128]
  --lr RATE             (first) learning rate [default: 0.006 for adam and adamw, 0.1 for sgd,
                        0.05 for momentum, 0.002 for rmsprop]
  --lr-decay GAMMA      with --schedule exp: multiply the learning rate by GAMMA after each
                        epoch [default: 0.7]
  --optimizer NAME      sgd | momentum | adam | adamw (decoupled decay 0.01) | rmsprop
                        [default: adam]
  --clip NORM           clip each step's gradients to this global L2 norm
  --seed N              seed for initialisation and shuffling [default: 0]
  --threads N           threads for the matrix products; results are identical for any N [default: 1]
  --layers N            1: 784-10;  2: 784-256-10;  3: 784-256-128-10 [default: 2]
  --hidden N            the hidden width of --layers 2: 256 or 32 (for embedded/) [default: 256]
  --activation NAME     relu | tanh | sigmoid, for the hidden layers [default: relu]
  --norm NAME           none | batch | layer: BatchNorm1d or LayerNorm after each hidden
                        Linear, before its activation [default: none]
  --residual            784-256, then a residual block x + act(Linear 256-256), then 256-10
  --save PATH           save the trained weights (safetensors, PyTorch names and layout)
  --checkpoint PATH     write a training checkpoint after every epoch (weights, optimizer
                        state, progress, early-stopping state)
  --resume PATH         go on from a checkpoint of a run with the same options: --epochs is
                        the total, so `--epochs 2 --resume c` runs the epochs after c's
  --load PATH           evaluate saved weights on the test set instead of training; a file
                        saved by --save names its network, so no other flag is needed
  --metrics PATH        write a CSV row per epoch: loss, accuracies, max |w| of each layer
  --plot PATH           draw training vs validation accuracy and max |w| per epoch (PNG)
  --outputs PATH        write the test images (PATH.in) and the network's outputs on them
                        (PATH.out), little-endian f32, to compare with another runtime

Overfitting lab (these hold out the last 10,000 training images for validation):
  --train-size N        train on the first N training images only (at most 50,000)
  --dropout P           dropout with probability P after each hidden activation
  --early-stop K        stop when the validation loss has not improved for K epochs,
                        keeping the best epoch's weights
  --schedule NAME       learning-rate schedule: cosine | exp (×GAMMA per epoch) | constant |
                        step | warmup-cosine | one-cycle | plateau [default: cosine]
  -h, --help            print this help

Without the lab's options the validation set, evaluated after every epoch, is the 10,000
MNIST test images (the lesson's setting). With them, it is held out from the training images.";

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
    hidden: u16,
    activation: String,
    norm: String,
    residual: bool,
    clip: Option<f64>,
    save: Option<PathBuf>,
    checkpoint: Option<PathBuf>,
    resume: Option<PathBuf>,
    load: Option<PathBuf>,
    metrics: Option<PathBuf>,
    plot: Option<PathBuf>,
    outputs: Option<PathBuf>,
    train_size: Option<usize>,
    dropout: Option<f64>,
    early_stop: Option<usize>,
    schedule: String,
}

impl Options {
    /// The options that choose the network's type.
    fn architecture(&self) -> Architecture {
        Architecture {
            layers: self.layers,
            hidden: self.hidden,
            activation: self.activation.clone(),
            norm: self.norm.clone(),
            residual: self.residual,
            dropout: self.dropout,
        }
    }

    /// Whether a validation set is held out of the training images.
    fn holds_out(&self) -> bool {
        self.train_size.is_some() || self.early_stop.is_some() || self.schedule == "plateau"
    }
}

/// Training images held out for validation by the overfitting lab's options.
const HELD_OUT: usize = 10_000;

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

/// The options of `args` (without the program's name).
fn parse_args(args: Vec<std::ffi::OsString>) -> Result<Options, lexopt::Error> {
    use lexopt::prelude::*;
    let mut o = Options {
        data_dir: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist")),
        epochs: 5,
        batch_size: 128,
        lr: None,
        lr_decay: 0.7,
        optimizer: "adam".into(),
        seed: 0,
        threads: 1,
        layers: 2,
        hidden: 256,
        activation: "relu".into(),
        norm: "none".into(),
        residual: false,
        clip: None,
        save: None,
        checkpoint: None,
        resume: None,
        load: None,
        metrics: None,
        plot: None,
        outputs: None,
        train_size: None,
        dropout: None,
        early_stop: None,
        schedule: "cosine".into(),
    };
    let mut parser = lexopt::Parser::from_args(args);
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
            Long("checkpoint") => o.checkpoint = Some(parser.value()?.into()),
            Long("resume") => o.resume = Some(parser.value()?.into()),
            Long("load") => o.load = Some(parser.value()?.into()),
            Long("metrics") => o.metrics = Some(parser.value()?.into()),
            Long("plot") => o.plot = Some(parser.value()?.into()),
            Long("outputs") => o.outputs = Some(parser.value()?.into()),
            Long("optimizer") => o.optimizer = flag_value(&mut parser, "optimizer")?,
            Long("activation") => o.activation = flag_value(&mut parser, "activation")?,
            Long("norm") => o.norm = flag_value(&mut parser, "norm")?,
            Long("residual") => o.residual = true,
            Long("clip") => {
                let max: f64 = flag_value(&mut parser, "clip")?;
                Clip::Norm(max)
                    .check()
                    .map_err(|e| format!("--clip: {e}"))?;
                o.clip = Some(max);
            }
            Long("train-size") => {
                let n: usize = flag_value(&mut parser, "train-size")?;
                if !(1..=60_000 - HELD_OUT).contains(&n) {
                    return Err(format!("--train-size must be 1 to 50000, not {n}").into());
                }
                o.train_size = Some(n);
            }
            Long("dropout") => o.dropout = Some(flag_value(&mut parser, "dropout")?),
            Long("early-stop") => o.early_stop = Some(flag_value(&mut parser, "early-stop")?),
            Long("schedule") => o.schedule = flag_value(&mut parser, "schedule")?,
            Long("hidden") => o.hidden = flag_value(&mut parser, "hidden")?,
            Long("layers") => o.layers = flag_value(&mut parser, "layers")?,
            Short('h') | Long("help") => {
                println!("{HELP}");
                std::process::exit(0);
            }
            _ => return Err(arg.unexpected()),
        }
    }
    let optimizers = OPTIMIZERS.map(|(name, _, make)| (name, make));
    choose("optimizer", &o.optimizer, &optimizers)?;
    choose("schedule", &o.schedule, &SCHEDULES)?;
    o.architecture().check()?;
    // Values the library would refuse later, refused now under the flag's name.
    if o.batch_size == 0 {
        return Err("--batch-size must be at least 1".into());
    }
    if o.threads == 0 {
        return Err("--threads must be at least 1".into());
    }
    if let Some(lr) = o.lr
        && !(lr.is_finite() && lr > 0.0 && (lr as f32) > 0.0 && (lr as f32).is_finite())
    {
        return Err(format!("--lr must be a finite number above 0 (as f32), not {lr}").into());
    }
    if !(o.lr_decay > 0.0 && o.lr_decay <= 1.0) {
        return Err(format!("--lr-decay must be in (0, 1], not {}", o.lr_decay).into());
    }
    // Fail now, not after minutes of training, if a result could not be written.
    for (flag, path) in [
        ("save", &o.save),
        ("checkpoint", &o.checkpoint),
        ("metrics", &o.metrics),
        ("plot", &o.plot),
    ] {
        if let Some(path) = path {
            if path.as_os_str().is_empty() {
                return Err(format!("--{flag} needs a file name").into());
            }
            constnet::io::check_writable(path).map_err(|e| format!("--{flag}: {e}"))?;
        }
    }
    Ok(o)
}

/// The options: the command line's; with `--load FILE` of a file that records its network,
/// that network's flags first, so that `--load FILE` alone rebuilds it (flags given on the
/// command line still win).
fn options() -> Result<Options, Box<dyn std::error::Error>> {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let o = parse_args(args.clone())?;
    let Some(path) = &o.load else {
        return Ok(o);
    };
    let meta = io::read_metadata(path).map_err(|e| format!("--load: {e}"))?;
    let Some(recorded) = meta.entries.get(ARCHITECTURE) else {
        return Ok(o);
    };
    println!("the network of {}: {recorded}", path.display());
    let mut all: Vec<std::ffi::OsString> = recorded.split_whitespace().map(Into::into).collect();
    all.extend(args);
    Ok(parse_args(all)?)
}

fn main() -> ExitCode {
    let options = match options() {
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
            "{e}\nThey must be in {}; pass --data-dir to look elsewhere.",
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
    let mut net = o.architecture().build(o.seed)?;
    let table = summary(&net);
    let widths: Vec<String> = std::iter::once(784)
        .chain(
            table
                .layers
                .iter()
                .filter(|l| l.name.contains("Linear<"))
                .map(|l| l.outputs),
        )
        .map(|n| n.to_string())
        .collect();
    let mut name = match o.layers {
        1 => format!("{} (linear)", widths.join("-")),
        _ => format!("{} ({})", widths.join("-"), o.activation),
    };
    if let Some(p) = o.dropout {
        name.push_str(&format!(", dropout {p}"));
    }
    if o.norm != "none" {
        name.push_str(&format!(", {} norm", o.norm));
    }
    if o.residual {
        name.push_str(", residual");
    }
    println!("network {name}:\n{table}");

    if let Some(path) = &o.load {
        io::load_safetensors(&mut net, path)?;
        println!("loaded weights from {}", path.display());
        if let Some(path) = &o.outputs {
            nets::write_outputs(&net, &data.test, path)?;
        }
        return report_test(&net, &data.test);
    }

    let (_, default_lr, make_optimizer) = OPTIMIZERS
        .into_iter()
        .find(|(n, _, _)| *n == o.optimizer)
        .expect("checked when parsing");
    let optimizer = make_optimizer(o.lr.unwrap_or(default_lr))?;
    println!(
        "training {} epochs, batch {}, {} (learning rate {}, {} schedule{}), seed {}, {} thread{}",
        o.epochs,
        o.batch_size,
        o.optimizer,
        optimizer.learning_rate(),
        o.schedule,
        if o.schedule == "exp" {
            format!(" ×{} per epoch", o.lr_decay)
        } else {
            String::new()
        },
        o.seed,
        o.threads,
        if o.threads == 1 { "" } else { "s" }
    );
    let schedule = choose("schedule", &o.schedule, &SCHEDULES)?(o, optimizer.learning_rate());
    // The lab trains on a part of the training images and validates on held-out ones.
    // The lab's validation set is the last 10,000 training images; the training images come
    // before them and never overlap them.
    let kept = if o.holds_out() {
        let n = data.train.len();
        let kept = n.checked_sub(HELD_OUT).filter(|&k| k > 0).ok_or_else(|| {
            format!(
                "the overfitting lab holds out the last {HELD_OUT} training images for \
                 validation, but {} has only {n}",
                o.data_dir.display()
            )
        })?;
        if let Some(size) = o.train_size.filter(|&s| s > kept) {
            return Err(format!(
                "--train-size {size}: only the first {kept} of the {n} training images come \
                 before the {HELD_OUT} held out for validation"
            )
            .into());
        }
        kept
    } else {
        0
    };
    let lab = o.holds_out().then(|| {
        let held_out = data.train.subset(kept..data.train.len());
        let train = data.train.subset(0..o.train_size.unwrap_or(kept));
        println!(
            "training on {} images, validating on {} held out of the training set",
            train.len(),
            held_out.len()
        );
        (train, held_out)
    });
    let (train, validation, validation_name) = match &lab {
        Some((train, held_out)) => (train, held_out, "validation (held out)"),
        None => (&data.train, &data.test, "validation (test set)"),
    };
    // Without --early-stop, the early-stopping callback only watches (it never stops and
    // keeps the last weights), so that the plot can still mark the best epoch.
    let stop = EarlyStopping::new(Metric::ValidationLoss, o.early_stop.unwrap_or(usize::MAX))
        .restore_best(o.early_stop.is_some());
    let mut callbacks = (Progress::new(o.epochs, o.holds_out()), stop);
    let mut trainer = Trainer::new(SoftmaxCrossEntropy, optimizer)
        .batch_size(o.batch_size)
        .order(Order::Shuffled { seed: o.seed })
        .schedule(schedule)
        // The whole training set's numbers after each epoch, when it is small enough to be
        // cheap: the lab's curves then compare like with like.
        .evaluate_train(o.train_size.is_some_and(|n| n <= 10_000));
    if let Some(max) = o.clip {
        trainer = trainer.clip(Clip::Norm(max));
    }
    if let Some(path) = &o.checkpoint {
        trainer = trainer.checkpoint_every_epoch(path);
    }
    if let Some(path) = &o.resume {
        trainer
            .resume(&mut net, &mut callbacks, path)
            .map_err(|e| format!("--resume: {e}"))?;
        println!(
            "resumed from {} after epoch {}",
            path.display(),
            trainer.epochs_done()
        );
    }
    let remaining = o.epochs.saturating_sub(trainer.epochs_done());
    let mut trainer = trainer.epochs(remaining);
    let history = constnet::with_threads(o.threads, || {
        trainer.fit(&mut net, train, Some(validation), &mut callbacks)
    })??;
    let stop = callbacks.1;
    let best = stop.best_epoch().filter(|_| o.early_stop.is_some());
    if let Some(best) = best {
        println!(
            "early stopping: best validation loss {:.4} after epoch {best}{}; its weights are kept",
            stop.best_value().unwrap_or(f64::NAN),
            match stop.stopped_after() {
                Some(e) => format!(", stopped after epoch {e}"),
                None => String::new(),
            }
        );
    }

    report_test(&net, &data.test)?;
    let training: Duration = history.iter().map(|r| r.train_time).sum();
    println!(
        "training time {:.2} s ({:.2} s per epoch), total time {:.2} s",
        training.as_secs_f64(),
        training.as_secs_f64() / history.len().max(1) as f64,
        wall.elapsed().as_secs_f64()
    );

    if let Some(path) = &o.save {
        let flags = o.architecture().flags();
        io::save_safetensors_described(&net, &[], &[(ARCHITECTURE, &flags)], path)?;
        println!("saved weights to {}", path.display());
    }
    if let Some(path) = &o.outputs {
        nets::write_outputs(&net, &data.test, path)?;
    }
    if let Some(path) = &o.metrics {
        constnet::io::write_atomic(path, metrics_csv(&history).as_bytes())?;
        println!("wrote per-epoch metrics to {}", path.display());
    }
    if let Some(path) = &o.plot {
        plot(path, &name, &history, validation_name, best)?;
        println!("drew {}", path.display());
    }
    Ok(())
}

/// A progress bar per epoch with the running loss, and a line per finished epoch.
struct Progress {
    epochs: usize,
    bar: Option<ProgressBar>,
    /// Whether the validation set is held out (else it is the test set).
    held_out: bool,
}

impl Progress {
    fn new(epochs: usize, held_out: bool) -> Self {
        Progress {
            epochs,
            bar: None,
            held_out,
        }
    }
}

impl Callback<f32> for Progress {
    fn on_batch(&mut self, p: &constnet::train::BatchProgress) {
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

    fn on_epoch(
        &mut self,
        _: &mut dyn Params<f32>,
        r: &EpochReport,
    ) -> Result<ControlFlow<()>, constnet::Error> {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let validation = r.validation.and_then(|v| v.accuracy).unwrap_or(f64::NAN);
        let (loss, accuracy) = train_numbers(r);
        let norms = r.grad_norm.map_or(String::new(), |g| {
            format!(
                ", gradient norm mean {:.2} max {:.2} (clipped {}/{} steps)",
                g.mean, g.max, g.clipped, g.steps
            )
        });
        println!(
            "epoch {:>2}/{}: train loss {loss:.4}, train accuracy {:.2}%, {} accuracy {:.2}%{norms}, {:.2} s",
            r.epoch,
            self.epochs,
            100.0 * accuracy,
            if self.held_out { "validation" } else { "test" },
            100.0 * validation,
            r.train_time.as_secs_f64()
        );
        Ok(ControlFlow::Continue(()))
    }
}

/// Training loss and accuracy: of the whole set after the epoch when evaluated, else the
/// running means over the epoch.
fn train_numbers(r: &EpochReport) -> (f64, f64) {
    match r.train {
        Some(t) => (t.loss, t.accuracy.unwrap_or(f64::NAN)),
        None => (r.train_loss, r.train_accuracy.unwrap_or(f64::NAN)),
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
        let (loss, accuracy) = train_numbers(r);
        csv.push_str(&format!("{},{loss},{accuracy},{validation}", r.epoch));
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
    validation_name: &str,
    best: Option<usize>,
) -> Result<(), Box<dyn std::error::Error>> {
    use common::{Panel, Series};
    let series = |label: &str, f: &dyn Fn(&EpochReport) -> f64| Series {
        name: label.to_string(),
        points: history.iter().map(|r| (r.epoch as f64, f(r))).collect(),
    };
    let mut accuracy = Panel {
        title: format!("MNIST {name}: accuracy"),
        x_label: "epoch".into(),
        y_label: "accuracy (%)".into(),
        series: vec![
            series("training", &|r| 100.0 * train_numbers(r).1),
            series(validation_name, &|r| {
                100.0 * r.validation.and_then(|v| v.accuracy).unwrap_or(f64::NAN)
            }),
        ],
    };
    let mut loss = Panel {
        title: "loss".into(),
        x_label: "epoch".into(),
        y_label: "cross-entropy".into(),
        series: vec![
            series("training", &|r| train_numbers(r).0),
            series(validation_name, &|r| {
                r.validation.map_or(f64::NAN, |v| v.loss)
            }),
        ],
    };
    // The early-stopping point: a vertical line at the best epoch, on both curves' range.
    if let Some(best) = best {
        let marker = |panel: &mut Panel| {
            let ys = panel
                .series
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.1));
            let (lo, hi) = ys
                .filter(|y| y.is_finite())
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), y| {
                    (l.min(y), h.max(y))
                });
            panel.series.push(Series {
                name: format!("best epoch ({best}), weights kept"),
                points: vec![(best as f64, lo), (best as f64, hi)],
            });
        };
        marker(&mut accuracy);
        marker(&mut loss);
    }
    let layers = history.first().map_or(0, |r| r.max_abs_weights.len());
    let weights = Panel {
        title: "largest |weight| per layer".into(),
        x_label: "epoch".into(),
        y_label: "max |w|".into(),
        series: (0..layers)
            .map(|k| series(&format!("layer {}", k + 1), &|r| r.max_abs_weights[k]))
            .collect(),
    };
    common::plot_panels(path, &[accuracy, loss, weights])
}
