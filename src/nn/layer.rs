//! The core trait [`Layer`]: a layer in three parts (one-sample forward, one-sample
//! backward, its parameters), with minibatch passes that come from the one-sample pair unless
//! a layer overrides them for speed.

use core::any::{Any, TypeId};

use nalgebra::SVector;

use crate::base::linalg::ensure_cols;
use crate::base::names::short_type_name;
use crate::base::simd;
use crate::nn::chain::{Chain, ChainTape};
use crate::nn::takes::Takes;

use crate::alloc_prelude::*;
use crate::nn::param::{Param, ParamMut, Path, StateOp};
use crate::{base::linalg::Batch, base::scalar::Scalar};

/// The samples per [`Layer::forward_batch`] call of [`Layer::predict_batch`] for `net`: as
/// many as keep the input and output of its widest layer within about 1 MiB (a core's share
/// of cache), a multiple of 8 from 8 to 1,024. For the reference CNN in `f32` that is 24
/// samples; for a 784-128-10 MLP, 280.
pub(crate) fn inference_chunk<
    T: Scalar,
    N: Layer<T, I, O> + ?Sized,
    const I: usize,
    const O: usize,
>(
    net: &N,
) -> usize {
    const BUDGET: usize = 1 << 20;
    let mut widest = I + O;
    net.describe(&Path::ROOT, &mut |info| {
        widest = widest.max(info.inputs + info.outputs)
    });
    (BUDGET / (widest * size_of::<T>())).clamp(8, 1024) / 8 * 8
}

/// `out` (`O` values a sample) ← `net`'s outputs for the samples `x` (`I` values a sample),
/// computed [`inference_chunk`] samples at a time: with 18 KB of a CNN's first layer's
/// outputs per sample, a minibatch of 1,000 went to memory and back between the layers.
/// Each sample's outputs do not depend on the chunk (`tests/cnn.rs` checks it).
pub(crate) fn infer_in_chunks<
    T: Scalar,
    N: Layer<T, I, O> + ?Sized,
    const I: usize,
    const O: usize,
>(
    net: &N,
    x: &[T],
    out: &mut [T],
) {
    let n = x.len() / I;
    let chunk = inference_chunk(net);
    // One set of buffers for whole chunks and one for the last, so that neither is resized
    // from chunk to chunk.
    let (mut whole, mut last) = (Buffers::<T, I, O>::default(), Buffers::<T, I, O>::default());
    for start in (0..n).step_by(chunk) {
        let end = (start + chunk).min(n);
        let buffers = if end - start == chunk {
            &mut whole
        } else {
            &mut last
        };
        ensure_cols(&mut buffers.x, end - start);
        buffers
            .x
            .as_mut_slice()
            .copy_from_slice(&x[start * I..end * I]);
        net.forward_batch(&buffers.x, &mut buffers.y, &mut buffers.tape);
        out[start * O..end * O].copy_from_slice(buffers.y.as_slice());
    }
}

/// What [`infer_in_chunks`] keeps from chunk to chunk.
struct Buffers<T: Scalar, const I: usize, const O: usize> {
    x: Batch<T, I>,
    y: Batch<T, O>,
    tape: DynTape,
}

impl<T: Scalar, const I: usize, const O: usize> Default for Buffers<T, I, O> {
    fn default() -> Self {
        Buffers {
            x: Batch::zeros(0),
            y: Batch::zeros(0),
            tape: DynTape::default(),
        }
    }
}

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
    /// The shape of a sample going in, as `[C, H, W]` or `[C, L]` for layers that see images
    /// or signals; empty for a layer that sees a flat vector or any shape (an activation:
    /// the summary then shows the shape before it).
    pub input_dims: Vec<usize>,
    /// The shape of a sample coming out, as for `input_dims`.
    pub output_dims: Vec<usize>,
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
/// Backward passes *accumulate* parameter gradients; an [`Optimizer`](crate::optim::Optimizer) step consumes them.
///
/// # Example
/// ```
/// use constnet::nn::{Init, Layer, Linear, Relu};
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
/// A layer implements [`Takes`]`<I>` (one line: which input size it takes) and three parts
/// of this trait: [`Layer::forward_tape`] (one sample, returning the output and a tape of
/// what the backward pass needs), [`Layer::backward`] (one sample), and its parameters,
/// declared once with [`params!`](crate::params) (which writes [`Layer::visit_params`] and
/// [`Layer::visit_params_mut`]; `params! {}` for none). The minibatch passes come from the
/// one-sample pair; override [`Layer::forward_batch`] and [`Layer::backward_batch`] only
/// for speed. [`crate::train::gradcheck::check_layer`] checks the backward passes against central
/// differences. To build it from a network's type ([`Net!`](crate::Net)), also implement
/// [`Build`](crate::nn::build::Build). The [`guide`](crate::guide) walks through complete examples,
/// a wrapper layer among them.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a layer from {I} to {O} values of type `{T}`",
    label = "expected a layer that takes {I} inputs of type `{T}` here",
    note = "in a network each layer must take exactly as many inputs as the layer before it gives \
            outputs: `Linear<I, O>` takes I inputs and gives O outputs, activations keep the size"
)]
pub trait Layer<T: Scalar, const I: usize, const O: usize>: Takes<I> {
    /// What a one-sample forward pass keeps for the backward pass, besides input and output:
    /// `()` for most layers. Any plain data will do (vectors of a generic size included).
    type Tape: 'static;

    /// Forward pass of one sample: the output, and the tape for [`Layer::backward`].
    fn forward_tape(&self, x: &SVector<T, I>) -> (SVector<T, O>, Self::Tape);

    /// Backward pass of one sample: adds the parameter gradients of `dy` (∂loss/∂y) to the
    /// accumulated ones and returns ∂loss/∂x. `x`, `y` and `tape` are from the forward pass.
    fn backward(
        &mut self,
        x: &SVector<T, I>,
        y: &SVector<T, O>,
        dy: &SVector<T, O>,
        tape: &Self::Tape,
    ) -> SVector<T, I>;

    /// Calls `f` with every parameter tensor, in order; `at` is this layer's place in the
    /// network. Written by [`params!`](crate::params), with [`Layer::visit_params_mut`].
    fn visit_params<F: FnMut(Param<'_, T>)>(&self, at: &Path<'_>, f: &mut F);

    /// Calls `f` with every parameter tensor and its gradient, in the order of
    /// [`Layer::visit_params`]. Written by [`params!`](crate::params).
    fn visit_params_mut<F: FnMut(ParamMut<'_, T>)>(&mut self, at: &Path<'_>, f: &mut F);

    /// Forward pass of a minibatch into `y` (resized to the batch if needed), recording the
    /// tape for [`Layer::backward_batch`]. By default one sample at a time through
    /// [`Layer::forward_tape`], the tapes kept in `tape` (allocated on the first call and
    /// reused after that); override it for speed.
    fn forward_batch(&self, x: &Batch<T, I>, y: &mut Batch<T, O>, tape: &mut DynTape) {
        ensure_cols(y, x.ncols());
        let tapes = tape.get_mut::<Vec<Self::Tape>>();
        tapes.clear();
        let columns = x.as_slice().chunks_exact(I.max(1));
        for (yj, xj) in y.as_mut_slice().chunks_exact_mut(O.max(1)).zip(columns) {
            let (out, t) = self.forward_tape(&SVector::from_column_slice(xj));
            yj.copy_from_slice(out.as_slice());
            tapes.push(t);
        }
    }

    /// Backward pass of a minibatch: adds the parameter gradients to the accumulated ones and,
    /// when `dx` is given, writes ∂loss/∂x there. The first layer of a network is passed
    /// `None`, which saves computing an input gradient that nobody uses. By default one
    /// sample at a time through [`Layer::backward`].
    ///
    /// # Panics
    /// If `x`, `y` and `dy` do not hold the same number of samples, or `tape` is not from a
    /// forward pass of this layer (they come from one forward pass, so this is a bug in the
    /// caller, not bad data).
    fn backward_batch(
        &mut self,
        x: &Batch<T, I>,
        y: &Batch<T, O>,
        dy: &Batch<T, O>,
        dx: Option<&mut Batch<T, I>>,
        tape: &mut DynTape,
    ) {
        assert_eq!(x.ncols(), dy.ncols(), "minibatch sizes differ");
        let tapes = tape.get::<Vec<Self::Tape>>();
        let mut dx = dx;
        if let Some(dx) = dx.as_deref_mut() {
            ensure_cols(dx, x.ncols());
        }
        for (j, t) in tapes.iter().enumerate().take(x.ncols()) {
            let xj = SVector::<T, I>::from_column_slice(&x.as_slice()[j * I..][..I]);
            let yj = SVector::<T, O>::from_column_slice(&y.as_slice()[j * O..][..O]);
            let dyj = SVector::<T, O>::from_column_slice(&dy.as_slice()[j * O..][..O]);
            let dxj = self.backward(&xj, &yj, &dyj, t);
            if let Some(dx) = dx.as_deref_mut() {
                dx.as_mut_slice()[j * I..][..I].copy_from_slice(dxj.as_slice());
            }
        }
    }

    /// How many places this layer takes in its sequence: 1, except for a [`Chain`], which
    /// counts each of its layers (PyTorch's `nn.Sequential` numbering). A layer that wraps
    /// others is one place: its children are named under it, not beside it.
    #[doc(hidden)]
    #[inline]
    fn depth(&self) -> usize {
        1
    }

    /// Calls `f` with a description of every layer, in order (a chain describes each of its
    /// layers); `at` is this layer's place. For [`summary`](crate::nn::summary::summary).
    fn describe(&self, at: &Path<'_>, f: &mut dyn FnMut(LayerInfo)) {
        let mut params = 0;
        self.visit_params(at, &mut |p| {
            if p.role.is_learned() {
                params += p.value.len();
            }
        });
        f(LayerInfo {
            position: at.top(),
            name: short_type_name(core::any::type_name::<Self>()),
            inputs: I,
            outputs: O,
            params,
            input_dims: Vec::new(),
            output_dims: Vec::new(),
        });
    }

    /// Switches training mode on or off: layers that behave differently in training, such
    /// as [`Dropout`](crate::nn::layers::Dropout), follow it; the others ignore it (the default).
    /// [`Trainer::fit`](crate::train::trainer::Trainer::fit) switches it on for its epochs and off when it
    /// evaluates and when it returns.
    /// It is [`StateOp::Train`] through [`Layer::visit_state`], which
    /// [`params!`](crate::params) passes on to the layers declared inside this one
    /// (`child: layer(field)`), so a wrapper never forgets them.
    fn set_training(&mut self, training: bool) {
        self.visit_state(&Path::ROOT, &mut StateOp::Train(training));
    }

    /// The state a layer keeps besides its parameters: its training switch, and counters
    /// such as [`Dropout`](crate::nn::layers::Dropout)'s mask stream, which a training checkpoint saves so
    /// that a resumed run goes on exactly. Written by [`params!`](crate::params), which
    /// passes `op` on to the layers declared inside this one; a layer with state of its own
    /// writes it by hand.
    fn visit_state(&mut self, at: &Path<'_>, op: &mut StateOp<'_>);

    /// Writes this layer's ONNX nodes into `graph` ([`io::onnx`](crate::io::onnx)); `at` is its
    /// place, as in [`Layer::visit_params`]. Every layer of this crate has one; without it a
    /// layer of your own cannot be exported ([`Error::NotExportable`](crate::Error::NotExportable)).
    ///
    /// # Errors
    /// [`Error::NotExportable`](crate::Error::NotExportable), naming the layer and its place.
    #[cfg(feature = "onnx")]
    #[cfg_attr(docsrs, doc(cfg(feature = "onnx")))]
    fn to_onnx(
        &self,
        at: &Path<'_>,
        graph: &mut crate::nn::onnx::Graph<T>,
    ) -> Result<(), crate::error::Error> {
        let _ = graph;
        Err(crate::nn::onnx::not_exportable::<Self>(at))
    }

    /// Inference on one sample: `y = f(x)`, with no heap allocation.
    #[inline]
    fn forward(&self, x: &SVector<T, I>) -> SVector<T, O> {
        // The whole pass compiled for the CPU's vector width, chosen once per call.
        forward_one(self, x)
    }

    /// The body of [`Layer::forward`]: one sample without keeping a tape. A chain overrides
    /// it to hand each hidden vector straight to the next layer; other layers keep this
    /// default.
    #[doc(hidden)]
    #[inline(always)]
    fn forward_untaped(&self, x: &SVector<T, I>) -> SVector<T, O> {
        self.forward_tape(x).0
    }

    /// Inference on a minibatch, returning a newly allocated output.
    ///
    /// The samples go through the network a chunk at a time (as many as keep the widest
    /// layer's input and output within about 1 MiB: 24 for a CNN whose first layer gives
    /// 8x24x24 values, 280 for a 784-128-10 MLP), so that each layer's outputs are still in
    /// cache when the next layer reads them; every sample's output is the same as from one
    /// [`Layer::forward_batch`] over the whole minibatch.
    fn predict_batch(&self, x: &Batch<T, I>) -> Batch<T, O> {
        let mut y = Batch::zeros(x.ncols());
        infer_in_chunks(self, x.as_slice(), y.as_mut_slice());
        y
    }

    /// Chains `next` after this layer. It compiles only if `next` takes `O` inputs; the error
    /// otherwise reads "`Linear<100, 10>` cannot take 128 inputs".
    ///
    /// # Example
    /// ```
    /// use constnet::nn::{Layer, Linear, Tanh};
    /// let net = Linear::<2, 4, f64>::zeros().then(Tanh).then(Linear::<4, 1, f64>::zeros());
    /// assert_eq!(net.num_params(), 2 * 4 + 4 + 4 + 1);
    /// ```
    fn then<L>(self, next: L) -> Chain<Self, L, O>
    where
        Self: Sized,
        L: Takes<O>,
    {
        Chain::new(self, next)
    }

    /// Sets every accumulated gradient to zero without updating anything.
    fn zero_grad(&mut self)
    where
        Self: Sized,
    {
        self.visit_params_mut(&Path::ROOT, &mut |p| p.grad.fill(T::zero()));
    }

    /// The number of trainable scalars (buffers such as running statistics are not counted).
    fn num_params(&self) -> usize
    where
        Self: Sized,
    {
        let mut n = 0;
        self.visit_params(&Path::ROOT, &mut |p| {
            if p.role.is_learned() {
                n += p.value.len();
            }
        });
        n
    }
}

/// A tape of any type, in a box: the minibatch tape of every layer (each keeps what it needs
/// there: its per-sample tapes, a buffer), and the one-sample tape of a boxed
/// [`Model`](crate::nn::model::Model). Allocated on the first pass and reused after that.
#[derive(Default)]
pub struct DynTape(Option<(TypeId, Box<dyn Any>)>);

impl core::fmt::Debug for DynTape {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(if self.0.is_some() {
            "DynTape(recorded)"
        } else {
            "DynTape(empty)"
        })
    }
}

impl DynTape {
    /// A tape holding `tape`.
    pub fn new<Tp: 'static>(tape: Tp) -> Self {
        DynTape(Some((TypeId::of::<Tp>(), Box::new(tape))))
    }

    /// The tape as `Tp`, replacing whatever it held if that was of another type: what a
    /// forward pass records into.
    #[inline(always)]
    pub fn get_mut<Tp: Default + 'static>(&mut self) -> &mut Tp {
        if self.0.as_ref().map(|(id, _)| *id) != Some(TypeId::of::<Tp>()) {
            *self = DynTape::new(Tp::default());
        }
        let (_, tape) = self.0.as_mut().expect("just made to hold a Tp");
        // SAFETY: the box holds a `Tp`: its type id, stored beside it when it was made from
        // a `Tp` (`new`), equals `Tp`'s; so its data pointer points to a valid `Tp`, borrowed
        // mutably through `self` for the returned lifetime.
        unsafe { &mut *(&mut **tape as *mut dyn Any).cast::<Tp>() }
    }

    /// The tape as `Tp`: what a backward pass reads.
    ///
    /// # Panics
    /// If no forward pass of this layer recorded it (a caller bug: backward needs the
    /// tape of a forward pass).
    #[inline(always)]
    pub fn get<Tp: 'static>(&self) -> &Tp {
        match &self.0 {
            // SAFETY: as in `get_mut`: the stored type id is `Tp`'s, so the box holds a `Tp`.
            Some((id, tape)) if *id == TypeId::of::<Tp>() => unsafe {
                &*(&**tape as *const dyn Any).cast::<Tp>()
            },
            _ => panic!("a backward pass needs the tape of a forward pass of the same layer"),
        }
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

/// The minibatch tape of a [`Chain`]: both layers' tapes, the hidden activations and their
/// gradient, kept between steps so that training allocates only when the batch size changes.
#[derive(Debug)]
struct ChainBatchTape<T: Scalar, const M: usize> {
    first: DynTape,
    hidden: Batch<T, M>,
    hidden_grad: Batch<T, M>,
    second: DynTape,
}

impl<T: Scalar, const M: usize> Default for ChainBatchTape<T, M> {
    fn default() -> Self {
        ChainBatchTape {
            first: DynTape::default(),
            hidden: Batch::zeros(0),
            hidden_grad: Batch::zeros(0),
            second: DynTape::default(),
        }
    }
}

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

    #[inline(always)]
    fn forward_untaped(&self, x: &SVector<T, I>) -> SVector<T, O> {
        self.second.forward_untaped(&self.first.forward_untaped(x))
    }

    #[inline(always)]
    fn forward_tape(&self, x: &SVector<T, I>) -> (SVector<T, O>, Self::Tape) {
        let (hidden, first) = self.first.forward_tape(x);
        let (y, second) = self.second.forward_tape(&hidden);
        let tape = ChainTape {
            first,
            hidden,
            second,
        };
        (y, tape)
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
    fn forward_batch(&self, x: &Batch<T, I>, y: &mut Batch<T, O>, tape: &mut DynTape) {
        let tape = tape.get_mut::<ChainBatchTape<T, M>>();
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
        tape: &mut DynTape,
    ) {
        let tape = tape.get_mut::<ChainBatchTape<T, M>>();
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

    fn visit_params<F: FnMut(Param<'_, T>)>(&self, at: &Path<'_>, f: &mut F) {
        self.first.visit_params(at, f);
        self.second.visit_params(&at.next(self.first.depth()), f);
    }

    fn visit_params_mut<F: FnMut(ParamMut<'_, T>)>(&mut self, at: &Path<'_>, f: &mut F) {
        self.first.visit_params_mut(at, f);
        self.second
            .visit_params_mut(&at.next(self.first.depth()), f);
    }

    fn visit_state(&mut self, at: &Path<'_>, op: &mut StateOp<'_>) {
        self.first.visit_state(at, op);
        self.second.visit_state(&at.next(self.first.depth()), op);
    }

    fn describe(&self, at: &Path<'_>, f: &mut dyn FnMut(LayerInfo)) {
        self.first.describe(at, f);
        self.second.describe(&at.next(self.first.depth()), f);
    }

    crate::nn::layer::onnx_form! {
        |self, at, graph| {
            self.first.to_onnx(at, graph)?;
            self.second.to_onnx(&at.next(self.first.depth()), graph)
        }
    }
}

#[cfg(feature = "std")]
/// The first NaN or infinite parameter of `net`, as an error naming its tensor (PyTorch's
/// name, e.g. `2.weight`), row and column; `epoch` says when training found it.
pub(crate) fn check_finite_params<T: Scalar, N: Layer<T, I, O>, const I: usize, const O: usize>(
    net: &N,
    epoch: Option<usize>,
) -> Result<(), crate::error::Error> {
    let mut found = None;
    net.visit_params(&Path::ROOT, &mut |p| {
        if found.is_none()
            && let Some(index) = p.value.iter().position(|v| !v.finite())
        {
            // Column-major matrices; vectors and (row-major) tensors by their outermost index.
            let (row, column) = match p.shape {
                crate::nn::param::Shape::Matrix { rows, .. } => {
                    (index % rows.max(1), index / rows.max(1))
                }
                crate::nn::param::Shape::Vector(_) => (index, 0),
                crate::nn::param::Shape::Tensor { dims, .. } => {
                    let inner = (p.shape.len() / dims[0].max(1)).max(1);
                    (index / inner, index % inner)
                }
            };
            found = Some(crate::error::Error::NonFiniteParameter {
                tensor: p.full_name().to_string(),
                row,
                column,
                epoch,
            });
        }
    });
    found.map_or(Ok(()), Err)
}

/// Writes a layer's [`Layer::to_onnx`] from its body, under the `onnx` feature:
/// `onnx_form! { |self, at, g| { ... } }` names the receiver, the layer's place and the graph.
macro_rules! onnx_form {
    (|$this:ident, $at:ident, $graph:ident| $body:block) => {
        #[cfg(feature = "onnx")]
        fn to_onnx(
            &$this,
            $at: &$crate::nn::Path<'_>,
            $graph: &mut $crate::nn::onnx::Graph<T>,
        ) -> Result<(), $crate::error::Error> $body
    };
}
pub(crate) use onnx_form;

/// Chains layers left to right: `seq![a, b, c]` is `a.then(b).then(c)`.
///
/// # Example
/// ```
/// use constnet::{seq, nn::{Init, Layer, Linear, Relu}};
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
        use $crate::nn::Layer as _;
        $first $(.then($rest))*
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dyn_tape_keeps_its_value_and_replaces_one_of_another_type() {
        let mut tape = DynTape::default();
        tape.get_mut::<Vec<u32>>().push(7);
        tape.get_mut::<Vec<u32>>().push(8);
        assert_eq!(tape.get::<Vec<u32>>(), &[7, 8]);
        // Another type: a fresh default, the old value dropped.
        assert_eq!(*tape.get_mut::<u64>(), 0);
        *tape.get_mut::<u64>() = 5;
        assert_eq!(*tape.get::<u64>(), 5);
        assert!(tape.get_mut::<Vec<u32>>().is_empty());
        let boxed = DynTape::new([1.5f64; 3]);
        assert_eq!(boxed.get::<[f64; 3]>(), &[1.5; 3]);
    }

    #[test]
    #[should_panic(expected = "needs the tape of a forward pass")]
    fn dyn_tape_of_another_type_is_a_caller_bug() {
        let tape = DynTape::new(1u8);
        let _ = tape.get::<u16>();
    }
}
