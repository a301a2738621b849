//! Guides: naming networks, choosing them at run time, and writing your own layer.
//!
//! # Naming a network
//!
//! A network's type is its layers in order, written once with [`Net!`](crate::Net), and it is
//! built from that type with [`Build`](crate::nn::build::Build), so every width is written in exactly one
//! place:
//!
//! ```
//! use constnet::{Net, nn::{Build, Linear, Relu, Tanh}};
//! use constnet::rand::{SeedableRng, rngs::StdRng};
//!
//! type Policy<const H: usize> = Net![Linear<6, H>, Tanh, Linear<H, H>, Relu, Linear<H, 4>];
//!
//! struct Agent {
//!     policy: Policy<64>,
//! }
//!
//! let agent = Agent { policy: Policy::init(&mut StdRng::seed_from_u64(7)) };
//! # let _ = agent.policy;
//! ```
//!
//! # Returning `impl Layer` from a function that takes the generator
//!
//! In Rust 2024 an `impl Trait` return type captures every lifetime of the function's
//! arguments, so this does not compile as one might expect: the returned network would keep
//! `rng` borrowed, and the second call fails with "cannot borrow `rng` as mutable more than
//! once".
//!
//! ```compile_fail,E0499
//! use constnet::{seq, nn::{Init, Layer, Linear, Relu}};
//! use constnet::rand::{SeedableRng, rngs::StdRng};
//!
//! fn hidden(rng: &mut StdRng) -> impl Layer<f32, 2, 8> {
//!     seq![Linear::<2, 8>::new(Init::HeNormal, rng), Relu]
//! }
//! let mut rng = StdRng::seed_from_u64(0);
//! let a = hidden(&mut rng);
//! let b = hidden(&mut rng);
//! # let _ = (a, b);
//! ```
//!
//! Say that the network borrows nothing with `+ use<>`, or return the named type and build it
//! with [`Build`](crate::nn::build::Build), which needs no `impl Trait` at all:
//!
//! ```
//! use constnet::{Net, seq, nn::{Build, Init, Layer, Linear, Relu}};
//! use constnet::rand::{SeedableRng, rngs::StdRng};
//!
//! fn hidden(rng: &mut StdRng) -> impl Layer<f32, 2, 8> + use<> {
//!     seq![Linear::<2, 8>::new(Init::HeNormal, rng), Relu]
//! }
//! type Hidden = Net![Linear<2, 8>, Relu];
//!
//! let mut rng = StdRng::seed_from_u64(0);
//! let (a, b) = (hidden(&mut rng), hidden(&mut rng));
//! let c = Hidden::init(&mut rng);
//! # let _ = (a, b, c);
//! ```
//!
//! # Choosing a network at run time
//!
//! Every network is a [`Model`](crate::nn::model::Model), and `Box<dyn Model<T, I, O>>` is a
//! [`Layer`](crate::nn::layer::Layer) again, so a program can pick an architecture from its
//! configuration and train, evaluate, save and load it like any other; `Box<dyn
//! Optimizer<T>>` does the same for optimizers. See [`Model`](crate::nn::model::Model) for an example
//! and `examples/mnist.rs` for a program that chooses both from the command line.
//!
//! # Writing your own layer
//!
//! A layer is [`Takes<I>`](crate::nn::takes::Takes) (one line: the input size it takes, which lets a
//! chain report "`MyLayer` cannot take 5 inputs") and [`Layer<T, I, O>`](crate::nn::layer::Layer) in
//! three parts:
//!
//! 1. [`forward_tape`](crate::nn::layer::Layer::forward_tape): one sample's output, and a tape of what
//!    the backward pass needs (`()` if nothing; any plain data, vectors of a generic size
//!    included);
//! 2. [`backward`](crate::nn::layer::Layer::backward): add the parameter gradients, return `∂L/∂x`;
//! 3. its parameters, declared once with [`params!`](crate::params): their names (saved as
//!    `k.name`, PyTorch's `state_dict` keys), the fields that hold values and gradients, and
//!    whether weight decay applies. `params! {}` for none.
//!
//! The minibatch passes come from the one-sample pair (override
//! [`forward_batch`](crate::nn::layer::Layer::forward_batch) and
//! [`backward_batch`](crate::nn::layer::Layer::backward_batch) only for speed, as `Linear` does), and
//! [`gradcheck::check_layer`](crate::train::gradcheck::check_layer) checks both against central
//! differences. Implement [`Build`](crate::nn::build::Build) too if it is to be built from a network's
//! type.
//!
//! A learnable elementwise scale `yᵢ = sᵢ·xᵢ`, with `∂L/∂sᵢ = ∂L/∂yᵢ·xᵢ` and
//! `∂L/∂xᵢ = sᵢ·∂L/∂yᵢ`:
//!
//! ```
//! use constnet::nalgebra::SVector;
//! use constnet::{Scalar, params, nn::{Layer, Takes}};
//!
//! /// `y = s ⊙ x` with a learnable scale `s` of `N` values.
//! #[derive(Clone)]
//! pub struct Scale<const N: usize, T: Scalar = f32> {
//!     s: SVector<T, N>,
//!     s_grad: SVector<T, N>,
//! }
//!
//! impl<const N: usize, T: Scalar> Takes<N> for Scale<N, T> {}
//!
//! impl<const N: usize, T: Scalar> Layer<T, N, N> for Scale<N, T> {
//!     type Tape = (); // backward needs nothing beyond x
//!
//!     fn forward_tape(&self, x: &SVector<T, N>) -> (SVector<T, N>, ()) {
//!         (x.component_mul(&self.s), ())
//!     }
//!
//!     fn backward(&mut self, x: &SVector<T, N>, _y: &SVector<T, N>, dy: &SVector<T, N>, _: &()) -> SVector<T, N> {
//!         self.s_grad += dy.component_mul(x);
//!         dy.component_mul(&self.s)
//!     }
//!
//!     // Saved as `k.scale`, updated by the optimizer, not decayed toward 0.
//!     params! { scale: vector(s, s_grad); }
//! }
//! # impl<const N: usize, T: Scalar> constnet::nn::Build for Scale<N, T> {
//! #     fn build<R: constnet::rand::Rng + ?Sized>(_: &mut R, _: Option<constnet::nn::Init>, _: bool) -> Self {
//! #         Scale { s: SVector::repeat(T::one()), s_grad: SVector::zeros() }
//! #     }
//! # }
//! # use constnet::{Net, data::datasets, nn::{Build, Linear, SoftmaxCrossEntropy, Tanh}, optim::Sgd, train::{Trainer, gradcheck}};
//! # use constnet::rand::{SeedableRng, rngs::StdRng};
//! # let mut scale = Scale::<3, f64>::init(&mut StdRng::seed_from_u64(0));
//! # scale.s = SVector::from([0.5, -2.0, 1.5]);
//! # gradcheck::check_layer(scale, 4, 1)?;
//! # type Net = Net![Linear<2, 8>, Scale<8>, Tanh, Linear<8, 2>];
//! # let mut net = Net::init(&mut StdRng::seed_from_u64(1));
//! # Trainer::new(SoftmaxCrossEntropy, Sgd::new(0.5)?).epochs(200).batch_size(4).fit(&mut net, &datasets::xor(), None, &mut ())?;
//! # assert_eq!(constnet::train::accuracy(&net, &datasets::xor()), 1.0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! To build it from a network's type, add [`Build`](crate::nn::build::Build); then it fits in
//! `Net![Linear<2, 8>, Scale<8>, Tanh, Linear<8, 2>]`, trains, saves and loads like the
//! built-in layers (the hidden lines of the example above do exactly that, and check its
//! gradients).
//!
//! # A layer that wraps layers
//!
//! A wrapper declares its child with `name: layer(field)`: the child's tensors are then named
//! under the wrapper's place (`1.inner.0.weight` for a chain inside the wrapper at position
//! 1, as PyTorch names a module's child), the child follows the training switch, and the
//! wrapper needs to know nothing about how many layers the child holds. A skip connection
//! `y = x + f(x)` around any layer from `N` to `N` (the library has it, with minibatch passes
//! and a summary of its inner layers, as [`Residual`](crate::nn::Residual); here is the
//! heart of it):
//!
//! ```
//! use constnet::nalgebra::SVector;
//! use constnet::{Scalar, io, params, seq, nn::{Layer, Linear, Relu, Takes}};
//!
//! pub struct Residual<L> {
//!     inner: L,
//! }
//!
//! impl<L: Takes<N>, const N: usize> Takes<N> for Residual<L> {}
//!
//! impl<T: Scalar, L: Layer<T, N, N>, const N: usize> Layer<T, N, N> for Residual<L> {
//!     type Tape = (L::Tape, SVector<T, N>); // the inner tape and the inner output f(x)
//!
//!     fn forward_tape(&self, x: &SVector<T, N>) -> (SVector<T, N>, Self::Tape) {
//!         let (fx, tape) = self.inner.forward_tape(x);
//!         (x + fx, (tape, fx))
//!     }
//!
//!     fn backward(&mut self, x: &SVector<T, N>, _y: &SVector<T, N>, dy: &SVector<T, N>, (tape, fx): &Self::Tape) -> SVector<T, N> {
//!         dy + self.inner.backward(x, fx, dy, tape)
//!     }
//!
//!     params! { inner: layer(inner); }
//! }
//!
//! let block = Residual { inner: seq![Linear::<4, 4>::zeros(), Relu, Linear::<4, 4>::zeros()] };
//! let net = seq![Linear::<2, 4>::zeros(), block, Linear::<4, 1>::zeros()];
//! let mut names = Vec::new();
//! net.visit_params(&constnet::nn::Path::ROOT, &mut |p| names.push(p.full_name().to_string()));
//! assert_eq!(names, ["0.weight", "0.bias", "1.inner.0.weight", "1.inner.0.bias",
//!                    "1.inner.2.weight", "1.inner.2.bias", "2.weight", "2.bias"]);
//! # constnet::train::gradcheck::check_layer(Residual { inner: seq![Linear::<3, 3, f64>::new(constnet::nn::Init::XavierUniform, &mut <constnet::rand::rngs::StdRng as constnet::rand::SeedableRng>::seed_from_u64(2)), constnet::nn::Tanh] }, 3, 2)?;
//! let bytes = io::to_safetensors(&net)?; // every tensor has a name of its own
//! # let _ = bytes;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
