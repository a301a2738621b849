//! Trains a small classifier on a CSV file: the bundled iris data (UCI, CC BY 4.0; see
//! `data/iris.md`) by default, or your own file with four numeric feature columns.
//!
//! `cargo run --release --example tabular` reads `data/iris.csv`, splits it 70/30 keeping the
//! class shares, standardises the features with statistics of the training part, trains a
//! 4-16-3 tanh network with Adam and early stopping on a validation part of the training
//! data, and prints the test accuracy and a per-class report.
//! `-- --csv PATH --target NAME` reads another file of the same width; a file of another
//! width is refused naming both counts.
//!
//! `--save model.safetensors` keeps the weights, the scaler, and the class and feature names
//! in the file's metadata; `-- --load model.safetensors --predict 5.1,3.5,1.4,0.2` then reads
//! one row (the same checks as the training file), scales it and prints the class by name.

use std::path::PathBuf;
use std::process::ExitCode;

use constnet::rand::SeedableRng;
use constnet::rand::rngs::StdRng;
use constnet::{
    Net,
    data::{Csv, StandardScaler, stratified_split},
    io,
    nn::{Build, Layer, Linear, SoftmaxCrossEntropy, Tanh},
    optim::Adam,
    train::{ConfusionMatrix, EarlyStopping, Metric, Trainer, evaluate},
};

/// Four features in, three classes out: the sizes the compiler checks.
const FEATURES: usize = 4;
const CLASSES: usize = 3;
type Classifier = Net![Linear<FEATURES, 16>, Tanh, Linear<16, CLASSES>];

const HELP: &str = "\
Train a 4-16-3 classifier on a CSV file.

Usage: cargo run --release --example tabular -- [OPTIONS]

Options:
  --csv PATH        the data: a header row, 4 numeric feature columns and a class column
                    [default: data/iris.csv]
  --target NAME     the class column [default: species]
  --epochs N        at most this many epochs [default: 500]
  --patience N      stop after N epochs without a better validation loss [default: 30]
  --seed N          seed of the split, the initialisation and the shuffling [default: 0]
  --save PATH       save the weights, the scaler and the class names (safetensors)
  --load PATH       a file saved with --save, for --predict
  --predict ROW     with --load: the class of one row of 4 comma-separated features
  -h, --help        print this help";

struct Options {
    csv: PathBuf,
    target: String,
    epochs: usize,
    patience: usize,
    seed: u64,
    save: Option<PathBuf>,
    load: Option<PathBuf>,
    predict: Option<String>,
}

/// The value of `--flag` as a whole number; an error names the flag and the value.
fn number(parser: &mut lexopt::Parser, flag: &str) -> Result<u64, lexopt::Error> {
    use lexopt::ValueExt;
    let value = parser.value()?.string()?;
    value
        .parse()
        .map_err(|e| format!("--{flag}: cannot use {value:?}: {e}").into())
}

fn parse_args() -> Result<Options, lexopt::Error> {
    use lexopt::prelude::*;
    let mut o = Options {
        csv: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/data/iris.csv")),
        target: "species".into(),
        epochs: 500,
        patience: 30,
        seed: 0,
        save: None,
        load: None,
        predict: None,
    };
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("csv") => o.csv = parser.value()?.into(),
            Long("target") => o.target = parser.value()?.string()?,
            Long("epochs") => o.epochs = number(&mut parser, "epochs")? as usize,
            Long("patience") => o.patience = number(&mut parser, "patience")? as usize,
            Long("seed") => o.seed = number(&mut parser, "seed")?,
            Long("save") => o.save = Some(parser.value()?.into()),
            Long("load") => o.load = Some(parser.value()?.into()),
            Long("predict") => o.predict = Some(parser.value()?.string()?),
            Short('h') | Long("help") => {
                println!("{HELP}");
                std::process::exit(0);
            }
            _ => return Err(arg.unexpected()),
        }
    }
    if o.load.is_some() != o.predict.is_some() {
        return Err("--load and --predict go together".into());
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

/// `--load PATH --predict ROW`: the class of one row, by the name the training file gave it.
fn predict(path: &std::path::Path, row: &str) -> Result<(), Box<dyn std::error::Error>> {
    let mut net = Classifier::zeros();
    let mut scaler = StandardScaler::<f32, FEATURES>::identity();
    io::load_safetensors_with(&mut net, &mut [("scaler", &mut scaler)], path)?;
    let meta = io::read_metadata(path)?;
    let names = |key: &str| -> Vec<String> {
        meta.entries
            .get(key)
            .map(|v| v.split('\t').map(str::to_string).collect())
            .unwrap_or_default()
    };
    let (classes, features) = (names("classes"), names("features"));
    let x = Csv::new()
        .no_target()
        .parse_row::<f32, FEATURES>(row)
        .map_err(|e| format!("--predict: {e}"))?;
    let scores = net.forward(&scaler.apply(&x));
    let class = constnet::train::argmax(scores.as_slice());
    let name = classes
        .get(class)
        .cloned()
        .unwrap_or_else(|| format!("class {class}"));
    println!("features {}: {row}", features.join(", "));
    println!("predicted class: {name}");
    Ok(())
}

fn run(o: &Options) -> Result<(), Box<dyn std::error::Error>> {
    if let (Some(path), Some(row)) = (&o.load, &o.predict) {
        return predict(path, row);
    }
    let file = Csv::new()
        .target(o.target.as_str())
        .read_classes::<f32, FEATURES>(&o.csv)?;
    if file.classes.len() > CLASSES {
        return Err(format!(
            "{}: {} classes ({}), but this network has {CLASSES} outputs",
            o.csv.display(),
            file.classes.len(),
            file.classes.join(", ")
        )
        .into());
    }
    println!(
        "read {} samples from {}: features {}; classes {}",
        file.data.len(),
        o.csv.display(),
        file.features.join(", "),
        file.classes.join(", ")
    );

    // 30% held out for the test, keeping the class shares; of the rest, 20% validates for
    // early stopping. The scaler sees the training part only.
    let labels = file.data.targets();
    let split = stratified_split(labels, 0.3, o.seed)?;
    let (rest, test) = split.apply(&file.data);
    let inner = stratified_split(rest.targets(), 0.2, o.seed)?;
    let (train, validation) = inner.apply(&rest);
    let scaler = StandardScaler::fit(&train);
    let [train, validation, test] = [&train, &validation, &test].map(|d| scaler.transform(d));
    println!(
        "split: {} training, {} validation, {} test samples",
        train.len(),
        validation.len(),
        test.len()
    );

    let mut net = Classifier::init(&mut StdRng::seed_from_u64(o.seed));
    let mut stop = EarlyStopping::new(Metric::ValidationLoss, o.patience);
    let history = Trainer::new(SoftmaxCrossEntropy, Adam::new(0.01)?)
        .epochs(o.epochs)
        .batch_size(16)
        .order(constnet::train::Order::Shuffled { seed: o.seed })
        .fit(&mut net, &train, Some(&validation), &mut stop)?;
    println!(
        "trained {} epochs; best validation loss {:.4} after epoch {}, whose weights are kept",
        history.len(),
        stop.best_value().unwrap_or(f64::NAN),
        stop.best_epoch().unwrap_or(0)
    );

    let score = evaluate(&net, &SoftmaxCrossEntropy, &test)?;
    println!(
        "\ntest accuracy {:.2}% (loss {:.4}, macro F1 {:.4}) on {} samples\n",
        100.0 * score.accuracy.unwrap_or(f64::NAN),
        score.loss,
        score.classes.map_or(f64::NAN, |c| c.f1),
        test.len()
    );
    let matrix = ConfusionMatrix::of(&net, &test);
    println!("{}\n", matrix.report(&file.classes));
    println!("confusion matrix (rows: true class, columns: predicted class)\n{matrix}");

    if let Some(path) = &o.save {
        // Names joined by tabs, which a CSV cell of this reader may hold but rarely does.
        let (classes, features) = (file.classes.join("\t"), file.features.join("\t"));
        let entries = [
            ("classes", classes.as_str()),
            ("features", features.as_str()),
        ];
        io::save_safetensors_described(&net, &[("scaler", &scaler)], &entries, path)?;
        println!(
            "saved the weights, the scaler and the class names to {}",
            path.display()
        );
    }
    Ok(())
}
