//! The MNIST examples' networks, shared by `mnist`, `mnist_cnn` and `export` (which rebuilds
//! them from a weights file's metadata to export it): the MLPs that `mnist`'s flags choose,
//! described by an [`Architecture`], and the reference CNN.

#![allow(dead_code)]

use constnet::rand::SeedableRng;
use constnet::rand::rngs::StdRng;
use constnet::{
    Net,
    nn::{BatchNorm1d, Build, Dropout, Layer, LayerNorm, Linear, Model, Relu, Sigmoid, Tanh},
};

/// The metadata entry in which `mnist --save` records the flags that build its network, so
/// that `--load` (and `export --onnx`) alone can rebuild it.
pub const ARCHITECTURE: &str = "mnist.architecture";

/// The metadata entry in which `mnist_cnn --save` says that the file holds [`Cnn`].
pub const CNN_ARCHITECTURE: &str = "mnist_cnn.architecture";

/// The reference network: 1x28x28 -> 8x24x24 -> 8x12x12 -> 16x8x8 -> 16x4x4 -> 256 -> 64 -> 10.
pub type Cnn = Net![
    Input<1, 28, 28>,
    Conv2d<1, 8, 5>, Relu, MaxPool2d<2>,
    Conv2d<8, 16, 5>, Relu, MaxPool2d<2>,
    Flatten,
    Linear<256, 64>, Relu,
    Linear<64, 10>,
];

/// What [`CNN_ARCHITECTURE`] records: PyTorch's `nn.Sequential` of the same modules.
pub const CNN_DESCRIPTION: &str = "Conv2d(1, 8, 5), ReLU, MaxPool2d(2), Conv2d(8, 16, 5), ReLU, \
     MaxPool2d(2), Flatten, Linear(256, 64), ReLU, Linear(64, 10)";

/// Any of the MLPs, chosen at run time.
pub type Classifier = Box<dyn Model<f32, 784, 10>>;

/// The options of `mnist` that choose the network's type.
#[derive(Debug, Clone, PartialEq)]
pub struct Architecture {
    /// `--layers`: 1, 2 or 3.
    pub layers: u8,
    /// `--hidden`: 256 or 32.
    pub hidden: u16,
    /// `--activation`.
    pub activation: String,
    /// `--norm`.
    pub norm: String,
    /// `--residual`.
    pub residual: bool,
    /// `--dropout P`.
    pub dropout: Option<f64>,
}

impl Default for Architecture {
    fn default() -> Self {
        Architecture {
            layers: 2,
            hidden: 256,
            activation: "relu".into(),
            norm: "none".into(),
            residual: false,
            dropout: None,
        }
    }
}

impl Architecture {
    /// The combinations `mnist` has a network for; an error names the flag.
    pub fn check(&self) -> Result<(), String> {
        if !(1..=3).contains(&self.layers) {
            return Err(format!("--layers must be 1, 2 or 3, not {}", self.layers));
        }
        if ![32, 256].contains(&self.hidden) {
            return Err(format!("--hidden must be 32 or 256, not {}", self.hidden));
        }
        if let Some(p) = self.dropout {
            Dropout::new(p).map_err(|e| format!("--dropout: {e}"))?;
        }
        choose("activation", &self.activation, &ACTIVATIONS)?;
        let norm = choose("norm", &self.norm, &NORMS)?;
        if norm != Norm::None || self.residual {
            let what = if self.residual {
                "--residual"
            } else {
                "--norm"
            };
            if self.dropout.is_some() || self.hidden != 256 {
                return Err(format!(
                    "{what} is for the 256-wide networks without --dropout"
                ));
            }
            if self.layers == 1 {
                return Err(format!("{what} needs hidden layers (--layers 2 or 3)"));
            }
            if self.residual && self.layers != 2 {
                return Err(
                    "--residual is its own two-hidden-layer network: leave out --layers".into(),
                );
            }
        }
        if self.hidden != 256 && (self.layers != 2 || self.dropout.is_some()) {
            return Err("--hidden 32 is for --layers 2 without --dropout".into());
        }
        if self.dropout.is_some() && self.layers == 1 {
            return Err("--dropout needs a hidden layer (--layers 2 or 3)".into());
        }
        Ok(())
    }

    /// As command-line flags, what `--save` records under [`ARCHITECTURE`].
    pub fn flags(&self) -> String {
        let mut flags = format!(
            "--layers {} --hidden {} --activation {} --norm {}",
            self.layers, self.hidden, self.activation, self.norm
        );
        if self.residual {
            flags.push_str(" --residual");
        }
        if let Some(p) = self.dropout {
            flags.push_str(&format!(" --dropout {p}"));
        }
        flags
    }

    /// The architecture of recorded [`Architecture::flags`] (any subset, the rest default),
    /// checked.
    pub fn from_flags(flags: &str) -> Result<Self, String> {
        let mut a = Architecture::default();
        let mut words = flags.split_whitespace();
        while let Some(flag) = words.next() {
            if flag == "--residual" {
                a.residual = true;
                continue;
            }
            let value = words
                .next()
                .ok_or_else(|| format!("`{flag}` without a value in `{flags}`"))?;
            let number = |what: &str| format!("`{flag} {value}`: {what}");
            match flag {
                "--layers" => a.layers = value.parse().map_err(|_| number("not 1, 2 or 3"))?,
                "--hidden" => a.hidden = value.parse().map_err(|_| number("not 32 or 256"))?,
                "--activation" => a.activation = value.into(),
                "--norm" => a.norm = value.into(),
                "--dropout" => {
                    a.dropout = Some(value.parse().map_err(|_| number("not a probability"))?)
                }
                _ => return Err(format!("unknown flag `{flag}` in `{flags}`")),
            }
        }
        a.check()?;
        Ok(a)
    }

    /// The network, initialised from `seed` (dropout's masks too).
    pub fn build(&self, seed: u64) -> Result<Classifier, String> {
        self.check()?;
        let (make, make_modern) = choose("activation", &self.activation, &ACTIVATIONS)?;
        let norm = choose("norm", &self.norm, &NORMS)?;
        let dropout = match self.dropout {
            Some(p) => Some(Dropout::new(p).map_err(|e| e.to_string())?.seed(seed)),
            None => None,
        };
        let rng = &mut StdRng::seed_from_u64(seed);
        Ok(if norm != Norm::None || self.residual {
            make_modern(self.layers, norm, self.residual, rng)
        } else {
            make(self.layers, self.hidden, dropout, rng)
        })
    }
}

/// The entry of `table` named `name`, or an error listing the names.
pub fn choose<T: Copy>(flag: &str, name: &str, table: &[(&str, T)]) -> Result<T, String> {
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
        })
}

/// `--layers 2`: one hidden layer of 256; `--layers 3`: two, of 256 and 128.
type OneHidden<A> = Net![Linear<784, 256>, A, Linear<256, 10>];
type TwoHidden<A> = Net![Linear<784, 256>, A, Linear<256, 128>, A, Linear<128, 10>];
/// `--layers 2 --hidden 32`: a network small enough for a microcontroller (see `embedded/`).
type SmallHidden<A> = Net![Linear<784, 32>, A, Linear<32, 10>];
/// The same with `--dropout P` after each hidden activation.
type OneHiddenDropout<A> = Net![Linear<784, 256>, A, Dropout, Linear<256, 10>];
type TwoHiddenDropout<A> =
    Net![Linear<784, 256>, A, Dropout, Linear<256, 128>, A, Dropout, Linear<128, 10>];

/// `--norm batch|layer`: a normalisation layer `N` (of 256 values, `M` of 128) after each
/// hidden `Linear`, before its activation: PyTorch's `nn.Sequential(Linear, BatchNorm1d, ReLU,
/// Linear)` for `--layers 2`.
type OneHiddenNorm<A, N> = Net![Linear<784, 256>, N, A, Linear<256, 10>];
type TwoHiddenNorm<A, N, M> = Net![Linear<784, 256>, N, A, Linear<256, 128>, M, A, Linear<128, 10>];
/// `--residual`: two hidden layers, the second inside a residual block (with `--norm`, a
/// normalisation layer after each hidden `Linear`, the block's included).
type ResidualMlp<A> =
    Net![Linear<784, 256>, A, Residual<Net![Linear<256, 256>, A]>, Linear<256, 10>];
type ResidualNormMlp<A, N> =
    Net![Linear<784, 256>, N, A, Residual<Net![Linear<256, 256>, N, A]>, Linear<256, 10>];

/// `--norm`: none, batch or layer normalisation.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Norm {
    None,
    Batch,
    Layer,
}

/// The networks of `--norm` and `--residual` with hidden activation `A` (checked when
/// parsing: two or three layers, 256 wide, no dropout).
fn modern<A>(layers: u8, norm: Norm, residual: bool, rng: &mut StdRng) -> Classifier
where
    A: Build + Layer<f32, 256, 256> + Layer<f32, 128, 128> + 'static,
{
    type B<const N: usize> = BatchNorm1d<N>;
    type L<const N: usize> = LayerNorm<N>;
    match (residual, norm, layers) {
        (true, Norm::None, _) => Box::new(ResidualMlp::<A>::init(rng)),
        (true, Norm::Batch, _) => Box::new(ResidualNormMlp::<A, B<256>>::init(rng)),
        (true, Norm::Layer, _) => Box::new(ResidualNormMlp::<A, L<256>>::init(rng)),
        (false, Norm::Batch, 2) => Box::new(OneHiddenNorm::<A, B<256>>::init(rng)),
        (false, Norm::Layer, 2) => Box::new(OneHiddenNorm::<A, L<256>>::init(rng)),
        (false, Norm::Batch, _) => Box::new(TwoHiddenNorm::<A, B<256>, B<128>>::init(rng)),
        (false, Norm::Layer, _) => Box::new(TwoHiddenNorm::<A, L<256>, L<128>>::init(rng)),
        (false, Norm::None, 2) => Box::new(OneHidden::<A>::init(rng)),
        (false, Norm::None, _) => Box::new(TwoHidden::<A>::init(rng)),
    }
}

/// The network of `layers` layers (`hidden` units wide for two layers) with hidden activation
/// `A`, built from its type (He initialisation before ReLU, Glorot otherwise), with `dropout`
/// after each hidden activation if given (dropout draws no initial weights: the weights are
/// the same).
fn network<A>(layers: u8, hidden: u16, dropout: Option<Dropout>, rng: &mut StdRng) -> Classifier
where
    A: Build + Layer<f32, 256, 256> + Layer<f32, 128, 128> + Layer<f32, 32, 32> + 'static,
{
    match (layers, dropout) {
        (1, _) => Box::new(Linear::<784, 10>::init(rng)),
        // `--hidden 32` comes without dropout (checked when parsing).
        (2, _) if hidden == 32 => Box::new(SmallHidden::<A>::init(rng)),
        (2, None) => Box::new(OneHidden::<A>::init(rng)),
        (2, Some(d)) => {
            let mut net = OneHiddenDropout::<A>::init(rng);
            *net.first_mut().second_mut() = d;
            Box::new(net)
        }
        (_, None) => Box::new(TwoHidden::<A>::init(rng)),
        (_, Some(d)) => {
            let mut net = TwoHiddenDropout::<A>::init(rng);
            // The second layer's masks: another stream of the same seed.
            *net.first_mut().second_mut() = d.clone().seed(d.seed_value().wrapping_add(1));
            *net.first_mut()
                .first_mut()
                .first_mut()
                .first_mut()
                .second_mut() = d;
            Box::new(net)
        }
    }
}

type MakeNetwork = fn(u8, u16, Option<Dropout>, &mut StdRng) -> Classifier;
type MakeModern = fn(u8, Norm, bool, &mut StdRng) -> Classifier;
/// `--activation`: name, and the networks with it.
const ACTIVATIONS: [(&str, (MakeNetwork, MakeModern)); 3] = [
    ("relu", (network::<Relu>, modern::<Relu>)),
    ("tanh", (network::<Tanh>, modern::<Tanh>)),
    ("sigmoid", (network::<Sigmoid>, modern::<Sigmoid>)),
];

/// `--norm`: name and kind.
const NORMS: [(&str, Norm); 3] = [
    ("none", Norm::None),
    ("batch", Norm::Batch),
    ("layer", Norm::Layer),
];

/// `--outputs PATH`: the test images as the network sees them, in `PATH.in` (`[10000, 784]`),
/// and its outputs on them, in `PATH.out` (`[10000, 10]`), as little-endian `f32`, one image
/// after another: what `tests/onnx/check.py` compares ONNX Runtime's outputs with.
pub fn write_outputs<N: Layer<f32, 784, 10> + ?Sized>(
    net: &N,
    test: &constnet::data::mnist::MnistSet,
    path: &std::path::Path,
) -> Result<(), constnet::Error> {
    let x = test.features();
    let y = net.predict_batch(x);
    let raw = |values: &[f32]| -> Vec<u8> { values.iter().flat_map(|v| v.to_le_bytes()).collect() };
    let with = |extension: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(extension);
        std::path::PathBuf::from(name)
    };
    constnet::io::write_atomic(with(".in"), &raw(x.as_slice()))?;
    constnet::io::write_atomic(with(".out"), &raw(y.as_slice()))?;
    println!(
        "wrote the test images to {} and the outputs to {}",
        with(".in").display(),
        with(".out").display()
    );
    Ok(())
}
