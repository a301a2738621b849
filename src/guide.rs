//! Guides: naming networks, choosing them at run time, and writing your own layer.
//!
//! # Naming a network
//!
//! A network's type is its layers in order, written once with [`Net!`](crate::Net), and it is
//! built from that type with [`Build`](crate::Build), so every width is written in exactly one
//! place:
//!
//! ```
//! use constnet::{Build, Linear, Net, Relu, Tanh};
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
//! use constnet::{Init, Layer, Linear, Relu, seq};
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
//! with [`Build`](crate::Build), which needs no `impl Trait` at all:
//!
//! ```
//! use constnet::{Build, Init, Layer, Linear, Net, Relu, seq};
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
//! Every network is a [`Model`](crate::Model), and `Box<dyn Model<T, I, O>>` is a
//! [`Layer`](crate::Layer) again, so a program can pick an architecture from its
//! configuration and train, evaluate, save and load it like any other; `Box<dyn
//! Optimizer<T>>` does the same for optimizers. See [`Model`](crate::Model) for an example
//! and `examples/mnist.rs` for a program that chooses both from the command line.
//!
//! # Writing your own layer
//!
//! A layer is a type that implements three things:
//!
//! 1. [`Takes<I>`](crate::Takes): the input size it takes, in one line (this is what lets a
//!    chain report "`MyLayer` cannot take 5 inputs" when it is put after the wrong layer);
//! 2. [`Layer<T, I, O>`](crate::Layer): forward and backward, for one sample (on the stack)
//!    and for a minibatch (one sample per column), and `visit_params` / `visit_params_mut`,
//!    which hand each parameter tensor (and its gradient) to optimizers and to saving. These
//!    two are required: a layer with parameters that forgot them would silently never train;
//!    one without parameters writes two empty bodies;
//! 3. [`Build`](crate::Build), if it is to be built from a network's type.
//!
//! Then [`gradcheck::check_layer`](crate::gradcheck::check_layer) checks its backward passes
//! against central differences, in your own tests.
//!
//! Here is a complete one: a learnable elementwise scale `yᵢ = sᵢ·xᵢ` (a diagonal linear
//! map), with `∂L/∂sᵢ = Σ ∂L/∂yᵢ·xᵢ` and `∂L/∂xᵢ = sᵢ·∂L/∂yᵢ`.
//!
//! ```
//! use constnet::nalgebra::SVector;
//! use constnet::rand::{Rng, SeedableRng, rngs::StdRng};
//! use constnet::{
//!     Batch, Build, Init, Layer, Linear, Net, Param, ParamKind, ParamMut, Scalar, Sgd,
//!     SoftmaxCrossEntropy, Takes, Tanh, Trainer, datasets, gradcheck,
//! };
//!
//! /// `y = s ⊙ x` with a learnable scale `s` of `N` values.
//! #[derive(Clone)]
//! struct Scale<const N: usize, T: Scalar = f32> {
//!     s: SVector<T, N>,
//!     grad: SVector<T, N>,
//! }
//!
//! impl<const N: usize, T: Scalar> Takes<N> for Scale<N, T> {}
//!
//! impl<const N: usize, T: Scalar> Layer<T, N, N> for Scale<N, T> {
//!     type Tape = ();
//!     type BatchTape = ();
//!
//!     fn forward_tape(&self, x: &SVector<T, N>, _: &mut ()) -> SVector<T, N> {
//!         x.component_mul(&self.s)
//!     }
//!
//!     fn backward(&mut self, x: &SVector<T, N>, _y: &SVector<T, N>, dy: &SVector<T, N>, _: &()) -> SVector<T, N> {
//!         self.grad += dy.component_mul(x);
//!         dy.component_mul(&self.s)
//!     }
//!
//!     fn forward_batch(&self, x: &Batch<T, N>, y: &mut Batch<T, N>, _: &mut ()) {
//!         *y = Batch::from_fn(x.ncols(), |i, j| x[(i, j)] * self.s[i]);
//!     }
//!
//!     fn backward_batch(
//!         &mut self,
//!         x: &Batch<T, N>,
//!         _y: &Batch<T, N>,
//!         dy: &Batch<T, N>,
//!         dx: Option<&mut Batch<T, N>>,
//!         _: &mut (),
//!     ) {
//!         for j in 0..x.ncols() {
//!             for i in 0..N {
//!                 self.grad[i] += dy[(i, j)] * x[(i, j)];
//!             }
//!         }
//!         if let Some(dx) = dx {
//!             *dx = Batch::from_fn(dy.ncols(), |i, j| dy[(i, j)] * self.s[i]);
//!         }
//!     }
//!
//!     // Required: without these, the optimizer would never see `s`, nor would saving.
//!     fn visit_params<F: FnMut(Param<'_, T>)>(&self, first_layer: usize, f: &mut F) {
//!         f(Param { layer: first_layer, kind: ParamKind::Bias, shape: (N, 1), value: self.s.as_slice() });
//!     }
//!
//!     fn visit_params_mut<F: FnMut(ParamMut<'_, T>)>(&mut self, first_layer: usize, f: &mut F) {
//!         f(ParamMut {
//!             layer: first_layer,
//!             kind: ParamKind::Bias, // a vector, so no weight decay and saved as `k.bias`
//!             shape: (N, 1),
//!             value: self.s.as_mut_slice(),
//!             grad: self.grad.as_mut_slice(),
//!         });
//!     }
//! }
//!
//! impl<const N: usize, T: Scalar> Build for Scale<N, T> {
//!     fn build<R: Rng + ?Sized>(_: &mut R, init: Option<Init>, _: bool) -> Self {
//!         let start = if init == Some(Init::Zeros) { T::zero() } else { T::one() };
//!         Scale { s: SVector::repeat(start), grad: SVector::zeros() }
//!     }
//! }
//!
//! // Its gradients are right (f64, central differences)...
//! let mut scale = Scale::<3, f64>::init(&mut StdRng::seed_from_u64(0));
//! scale.s = SVector::from([0.5, -2.0, 1.5]);
//! gradcheck::check_layer(scale, 4, 1)?;
//!
//! // ... and it fits in a network type, trains and saves like the built-in layers.
//! type Net = Net![Linear<2, 8>, Scale<8>, Tanh, Linear<8, 2>];
//! let mut net = Net::init(&mut StdRng::seed_from_u64(1));
//! Trainer::new(SoftmaxCrossEntropy, Sgd::new(0.5)?)
//!     .epochs(200)
//!     .batch_size(4)
//!     .fit(&mut net, &datasets::xor(), None, &mut ())?;
//! assert_eq!(constnet::accuracy(&net, &datasets::xor()), 1.0);
//! println!("{}", constnet::summary(&net));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
