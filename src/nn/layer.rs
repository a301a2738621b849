//! The core trait [`Layer`] and the chaining type [`Chain`].

use nalgebra::SVector;

use crate::base::linalg::ensure_cols;
use crate::base::simd;
use crate::prelude::*;
use crate::{Batch, Scalar};

/// What a parameter tensor is, which decides e.g. whether weight decay applies to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// A weight matrix (`O×I`).
    Weight,
    /// A bias vector (`O`).
    Bias,
}

impl ParamKind {
    /// The name PyTorch gives this tensor inside its module: `"weight"` or `"bias"`.
    pub fn name(self) -> &'static str {
        match self {
            ParamKind::Weight => "weight",
            ParamKind::Bias => "bias",
        }
    }
}

/// Read access to one parameter tensor, as handed out by [`Layer::visit_params`].
#[derive(Debug)]
pub struct Param<'a, T> {
    /// Position of the owning layer in the network, counting every layer (activations too),
    /// from 0, as PyTorch's `nn.Sequential` does.
    pub layer: usize,
    /// Weight or bias.
    pub kind: ParamKind,
    /// Rows and columns (`(O, I)` for a weight, `(O, 1)` for a bias).
    pub shape: (usize, usize),
    /// The values in column-major order (nalgebra's layout).
    pub value: &'a [T],
}

/// Write access to one parameter tensor and its accumulated gradient, as handed out by
/// [`Layer::visit_params_mut`] to an [`Optimizer`].
#[derive(Debug)]
pub struct ParamMut<'a, T> {
    /// Position of the owning layer in the network, as in [`Param::layer`].
    pub layer: usize,
    /// Weight or bias.
    pub kind: ParamKind,
    /// Rows and columns (`(O, I)` for a weight, `(O, 1)` for a bias).
    pub shape: (usize, usize),
    /// The values in column-major order.
    pub value: &'a mut [T],
    /// The gradient accumulated by the backward passes since the last update, same layout.
    pub grad: &'a mut [T],
}

/// A layer that takes `I` inputs: the one fact about a layer that chaining checks.
///
/// Every [`Layer`]`<T, I, O>` is `Takes<I>`. A [`Chain`] whose second layer does not take
/// the first one's outputs is not a valid type, so a mismatch is reported where the network
/// is named or built (a struct field, a `let`, a call), blaming the layer that does not
/// fit. Implement it with one line for a layer of your own:
/// `impl<const N: usize> Takes<N> for MyLayer<N> {}`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot take {I} inputs",
    label = "`{Self}` does not take {I} inputs",
    note = "in a network each layer must take exactly as many inputs as the layer before it gives \
            outputs: `Linear<I, O>` takes I inputs and gives O outputs, activations keep the size; \
            a layer of your own says what it takes with `impl Takes<I> for MyLayer {{}}`"
)]
pub trait Takes<const I: usize> {}

/// One layer of a network, as [`Layer::describe`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerInfo {
    /// Position in the network, from 0, counting activations (PyTorch's numbering).
    pub position: usize,
    /// The layer's type, without module paths (e.g. `Linear<784, 128>`).
    pub name: String,
    /// Inputs per sample.
    pub inputs: usize,
    /// Outputs per sample.
    pub outputs: usize,
    /// Trainable scalars.
    pub params: usize,
}

/// A differentiable map from `I` inputs to `O` outputs of scalar type `T`.
///
/// `I` and `O` are part of the type, so a network is a chain of layers whose sizes the
/// compiler has matched: `Linear<784, 128>` followed by `Linear<100, 10>` does not compile.
///
/// Every method has a one-sample form on [`SVector`]s (all on the stack, no heap allocation)
/// and a minibatch form on [`Batch`]es (one sample per column, products through
/// `matrixmultiply`). The forward pass is `&self`; what the backward pass needs beyond the
/// input and output is kept in a *tape* that the caller owns, so one network can serve
/// inference from several threads while training stays explicit.
///
/// Backward passes *accumulate* parameter gradients; an [`Optimizer`] step consumes them.
///
/// # Example
/// ```
/// use constnet::{Init, Layer, Linear, Relu};
/// use nalgebra::SVector;
/// use rand::SeedableRng;
///
/// let mut rng = rand::rngs::StdRng::seed_from_u64(7);
/// let net = Linear::<2, 16>::new(Init::HeNormal, &mut rng)
///     .then(Relu)
///     .then(Linear::<16, 3>::new(Init::XavierUniform, &mut rng));
/// let y: SVector<f32, 3> = net.forward(&SVector::from([0.5, -1.0]));
/// assert!(y.iter().all(|v| v.is_finite()));
/// ```
///
/// # Writing your own layer
/// A layer implements [`Takes`]`<I>` (one line: which input size it takes) and this trait:
/// the two forward and two backward passes, and [`Layer::visit_params`] /
/// [`Layer::visit_params_mut`], which hand every parameter tensor and its gradient to
/// optimizers and to saving. They are required (a layer without parameters writes two empty
/// bodies), so a layer with parameters cannot silently keep them from training.
/// [`crate::gradcheck::check_layer`] checks the backward passes against central
/// differences. To build it from a network's type ([`Net!`](crate::Net)), also implement
/// [`Build`](crate::Build). The [`guide`](crate::guide) walks through a complete example.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a layer from {I} to {O} values of type `{T}`",
    label = "expected a layer that takes {I} inputs of type `{T}` here",
    note = "in a network each layer must take exactly as many inputs as the layer before it gives \
            outputs: `Linear<I, O>` takes I inputs and gives O outputs, activations keep the size"
)]
pub trait Layer<T: Scalar, const I: usize, const O: usize>: Takes<I> {
    /// How many layers this is, counting every layer of a chain (activations too): the
    /// positions it takes in PyTorch's `nn.Sequential` numbering.
    #[inline]
    fn depth(&self) -> usize {
        1
    }

    /// What a one-sample forward pass keeps for the backward pass, besides input and output.
    type Tape: Default;

    /// What a minibatch forward pass keeps for the backward pass: reusable heap buffers.
    type BatchTape: Default;

    /// Forward pass of one sample that records the tape for [`Layer::backward`].
    fn forward_tape(&self, x: &SVector<T, I>, tape: &mut Self::Tape) -> SVector<T, O>;

    /// Backward pass of one sample: adds the parameter gradients of `dy` (∂loss/∂y) to the
    /// accumulated ones and returns ∂loss/∂x. `x`, `y` and `tape` are from the forward pass.
    fn backward(
        &mut self,
        x: &SVector<T, I>,
        y: &SVector<T, O>,
        dy: &SVector<T, O>,
        tape: &Self::Tape,
    ) -> SVector<T, I>;

    /// Forward pass of a minibatch into `y` (resized to the batch if needed), recording the
    /// tape for [`Layer::backward_batch`].
    fn forward_batch(&self, x: &Batch<T, I>, y: &mut Batch<T, O>, tape: &mut Self::BatchTape);

    /// Backward pass of a minibatch: adds the parameter gradients to the accumulated ones and,
    /// when `dx` is given, writes ∂loss/∂x there. The first layer of a network is passed
    /// `None`, which saves computing an input gradient that nobody uses.
    ///
    /// # Panics
    /// If `x`, `y` and `dy` do not hold the same number of samples (they come from one
    /// forward pass, so this is a bug in the caller, not bad data).
    fn backward_batch(
        &mut self,
        x: &Batch<T, I>,
        y: &Batch<T, O>,
        dy: &Batch<T, O>,
        dx: Option<&mut Batch<T, I>>,
        tape: &mut Self::BatchTape,
    );

    /// Calls `f` with every parameter tensor, in order. `first_layer` is this layer's
    /// position in the enclosing network. A layer without parameters does nothing here.
    fn visit_params<F: FnMut(Param<'_, T>)>(&self, first_layer: usize, f: &mut F);

    /// Calls `f` with every parameter tensor and its gradient, in the order of
    /// [`Layer::visit_params`]. A layer without parameters does nothing here.
    fn visit_params_mut<F: FnMut(ParamMut<'_, T>)>(&mut self, first_layer: usize, f: &mut F);

    /// Calls `f` with a description of every layer, in order (a chain describes each of its
    /// layers); `first_layer` is this layer's position. For [`summary`](crate::summary).
    fn describe(&self, first_layer: usize, f: &mut dyn FnMut(LayerInfo)) {
        let mut params = 0;
        self.visit_params(first_layer, &mut |p| params += p.value.len());
        f(LayerInfo {
            position: first_layer,
            name: short_type_name(core::any::type_name::<Self>()),
            inputs: I,
            outputs: O,
            params,
        });
    }

    /// Switches training mode on or off: layers that behave differently in training, such
    /// as [`Dropout`](crate::Dropout), follow it; the others ignore it (the default).
    /// [`Trainer::fit`](crate::Trainer::fit) switches it on for its epochs and off when it
    /// evaluates and when it returns.
    fn set_training(&mut self, training: bool) {
        let _ = training;
    }

    /// Inference on one sample: `y = f(x)`, with no heap allocation.
    #[inline]
    fn forward(&self, x: &SVector<T, I>) -> SVector<T, O> {
        // The whole pass compiled for the CPU's vector width, chosen once per call.
        forward_one(self, x)
    }

    /// The body of [`Layer::forward`]: one sample without a tape. A chain overrides it to
    /// hand each hidden vector straight to the next layer (recording a tape costs copies);
    /// other layers keep this default.
    #[doc(hidden)]
    #[inline(always)]
    fn forward_untaped(&self, x: &SVector<T, I>) -> SVector<T, O> {
        self.forward_tape(x, &mut Self::Tape::default())
    }

    /// Inference on a minibatch, returning a newly allocated output.
    fn predict_batch(&self, x: &Batch<T, I>) -> Batch<T, O> {
        let mut y = Batch::zeros(x.ncols());
        self.forward_batch(x, &mut y, &mut Self::BatchTape::default());
        y
    }

    /// Chains `next` after this layer. It compiles only if `next` takes `O` inputs; the error
    /// otherwise reads "`Linear<100, 10>` cannot take 128 inputs".
    ///
    /// # Example
    /// ```
    /// use constnet::{Layer, Linear, Tanh};
    /// let net = Linear::<2, 4, f64>::zeros().then(Tanh).then(Linear::<4, 1, f64>::zeros());
    /// assert_eq!(net.num_params(), 2 * 4 + 4 + 4 + 1);
    /// ```
    fn then<L>(self, next: L) -> Chain<Self, L, O>
    where
        Self: Sized,
        L: Takes<O>,
    {
        Chain {
            first: self,
            second: next,
        }
    }

    /// Sets every accumulated gradient to zero without updating anything.
    fn zero_grad(&mut self)
    where
        Self: Sized,
    {
        self.visit_params_mut(0, &mut |p| p.grad.fill(T::zero()));
    }

    /// The number of trainable scalars.
    fn num_params(&self) -> usize
    where
        Self: Sized,
    {
        let mut n = 0;
        self.visit_params(0, &mut |p| n += p.value.len());
        n
    }
}

/// The forward pass of one sample (the body of [`Layer::forward`]).
#[inline(always)]
pub(crate) fn forward_kernel<T, N, const I: usize, const O: usize>(
    net: &N,
    x: &SVector<T, I>,
) -> SVector<T, O>
where
    T: Scalar,
    N: Layer<T, I, O> + ?Sized,
{
    net.forward_untaped(x)
}

simd::multiversion! {
    /// [`forward_kernel`], compiled for the CPU's vector width.
    pub(crate) fn forward_one[T: Scalar, N: Layer<T, I, O> + ?Sized, const I: usize, const O: usize](
        net: &N,
        x: &SVector<T, I>,
    ) -> SVector<T, O> = forward_kernel;
}

/// A type's name without module paths: `constnet::layers::linear::Linear<784, 128>` becomes
/// `Linear<784, 128>`; the default scalar `f32` is left out.
pub(crate) fn short_type_name(full: &str) -> String {
    let mut out = String::new();
    let mut word = String::new();
    let mut chars = full.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
        } else if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            word.clear(); // a module path segment
        } else {
            out.push_str(&word);
            word.clear();
            out.push(c);
        }
    }
    out.push_str(&word);
    out.replace(", f32>", ">")
}

/// Two layers applied one after the other: `A` maps `I → M`, then `B` maps `M → O`.
///
/// Built with [`Layer::then`] (or the [`seq!`](crate::seq) macro), which only compiles when
/// the sizes meet. The middle size `M` is part of the type because an activation such as
/// [`Relu`](crate::Relu) fits any size and cannot name it itself.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Chain<A, B: Takes<M>, const M: usize> {
    first: A,
    second: B,
}

impl<A, B: Takes<M>, const M: usize> Chain<A, B, M> {
    /// Two layers, one after the other. [`Layer::then`] and [`seq!`](crate::seq) build the
    /// same with a check that `A` gives `M` outputs.
    pub const fn new(first: A, second: B) -> Self {
        Chain { first, second }
    }
    /// The first layer.
    pub fn first(&self) -> &A {
        &self.first
    }
    /// The second layer.
    pub fn second(&self) -> &B {
        &self.second
    }
    /// The first layer, mutably.
    pub fn first_mut(&mut self) -> &mut A {
        &mut self.first
    }
    /// The second layer, mutably.
    pub fn second_mut(&mut self) -> &mut B {
        &mut self.second
    }
}

/// The one-sample tape of a [`Chain`]: both layers' tapes and the hidden activation.
#[derive(Debug, Clone)]
pub struct ChainTape<TA, TB, T: Scalar, const M: usize> {
    first: TA,
    hidden: SVector<T, M>,
    second: TB,
}

impl<TA: Default, TB: Default, T: Scalar, const M: usize> Default for ChainTape<TA, TB, T, M> {
    fn default() -> Self {
        ChainTape {
            first: TA::default(),
            hidden: SVector::zeros(),
            second: TB::default(),
        }
    }
}

/// The minibatch tape of a [`Chain`]: both layers' tapes, the hidden activations and their
/// gradient, kept between steps so that training allocates only when the batch size changes.
#[derive(Debug, Clone)]
pub struct ChainBatchTape<TA, TB, T: Scalar, const M: usize> {
    first: TA,
    hidden: Batch<T, M>,
    hidden_grad: Batch<T, M>,
    second: TB,
}

impl<TA: Default, TB: Default, T: Scalar, const M: usize> Default for ChainBatchTape<TA, TB, T, M> {
    fn default() -> Self {
        ChainBatchTape {
            first: TA::default(),
            hidden: Batch::zeros(0),
            hidden_grad: Batch::zeros(0),
            second: TB::default(),
        }
    }
}

impl<A: Takes<I>, B: Takes<M>, const I: usize, const M: usize> Takes<I> for Chain<A, B, M> {}

impl<T, A, B, const I: usize, const M: usize, const O: usize> Layer<T, I, O> for Chain<A, B, M>
where
    T: Scalar,
    A: Layer<T, I, M>,
    B: Layer<T, M, O>,
{
    #[inline]
    fn depth(&self) -> usize {
        self.first.depth() + self.second.depth()
    }

    type Tape = ChainTape<A::Tape, B::Tape, T, M>;
    type BatchTape = ChainBatchTape<A::BatchTape, B::BatchTape, T, M>;

    #[inline(always)]
    fn forward_untaped(&self, x: &SVector<T, I>) -> SVector<T, O> {
        self.second.forward_untaped(&self.first.forward_untaped(x))
    }

    #[inline(always)]
    fn forward_tape(&self, x: &SVector<T, I>, tape: &mut Self::Tape) -> SVector<T, O> {
        tape.hidden = self.first.forward_tape(x, &mut tape.first);
        self.second.forward_tape(&tape.hidden, &mut tape.second)
    }

    #[inline(always)]
    fn backward(
        &mut self,
        x: &SVector<T, I>,
        y: &SVector<T, O>,
        dy: &SVector<T, O>,
        tape: &Self::Tape,
    ) -> SVector<T, I> {
        let dh = self.second.backward(&tape.hidden, y, dy, &tape.second);
        self.first.backward(x, &tape.hidden, &dh, &tape.first)
    }

    #[inline(always)]
    fn forward_batch(&self, x: &Batch<T, I>, y: &mut Batch<T, O>, tape: &mut Self::BatchTape) {
        self.first
            .forward_batch(x, &mut tape.hidden, &mut tape.first);
        self.second.forward_batch(&tape.hidden, y, &mut tape.second);
    }

    #[inline(always)]
    fn backward_batch(
        &mut self,
        x: &Batch<T, I>,
        y: &Batch<T, O>,
        dy: &Batch<T, O>,
        dx: Option<&mut Batch<T, I>>,
        tape: &mut Self::BatchTape,
    ) {
        ensure_cols(&mut tape.hidden_grad, x.ncols());
        self.second.backward_batch(
            &tape.hidden,
            y,
            dy,
            Some(&mut tape.hidden_grad),
            &mut tape.second,
        );
        self.first
            .backward_batch(x, &tape.hidden, &tape.hidden_grad, dx, &mut tape.first);
    }

    fn visit_params<F: FnMut(Param<'_, T>)>(&self, first_layer: usize, f: &mut F) {
        self.first.visit_params(first_layer, f);
        self.second
            .visit_params(first_layer + self.first.depth(), f);
    }

    fn visit_params_mut<F: FnMut(ParamMut<'_, T>)>(&mut self, first_layer: usize, f: &mut F) {
        self.first.visit_params_mut(first_layer, f);
        self.second
            .visit_params_mut(first_layer + self.first.depth(), f);
    }

    fn set_training(&mut self, training: bool) {
        self.first.set_training(training);
        self.second.set_training(training);
    }

    fn describe(&self, first_layer: usize, f: &mut dyn FnMut(LayerInfo)) {
        self.first.describe(first_layer, f);
        self.second.describe(first_layer + self.first.depth(), f);
    }
}

#[cfg(feature = "std")]
/// The first NaN or infinite parameter of `net`, as an error naming its tensor (PyTorch's
/// name, e.g. `2.weight`), row and column; `epoch` says when training found it.
pub(crate) fn check_finite_params<T: Scalar, N: Layer<T, I, O>, const I: usize, const O: usize>(
    net: &N,
    epoch: Option<usize>,
) -> Result<(), crate::Error> {
    let mut found = None;
    net.visit_params(0, &mut |p| {
        if found.is_none()
            && let Some(index) = p.value.iter().position(|v| !v.finite())
        {
            let rows = p.shape.0.max(1);
            found = Some(crate::Error::NonFiniteParameter {
                tensor: format!("{}.{}", p.layer, p.kind.name()),
                row: index % rows,
                column: index / rows,
                epoch,
            });
        }
    });
    found.map_or(Ok(()), Err)
}

/// Chains layers left to right: `seq![a, b, c]` is `a.then(b).then(c)`.
///
/// # Example
/// ```
/// use constnet::{seq, Init, Layer, Linear, Relu};
/// use rand::SeedableRng;
///
/// let mut rng = rand::rngs::StdRng::seed_from_u64(1);
/// let net = seq![
///     Linear::<4, 8>::new(Init::HeUniform, &mut rng),
///     Relu,
///     Linear::<8, 2>::new(Init::XavierUniform, &mut rng),
/// ];
/// assert_eq!(net.num_params(), 4 * 8 + 8 + 8 * 2 + 2);
/// ```
#[macro_export]
macro_rules! seq {
    ($first:expr $(, $rest:expr)* $(,)?) => {{
        #[allow(unused_imports)]
        use $crate::Layer as _;
        $first $(.then($rest))*
    }};
}
