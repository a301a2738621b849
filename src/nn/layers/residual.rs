//! [`Residual`]: a skip connection `y = x + f(x)` around any layer from `N` to `N`
//! (He et al., 2016).

use core::fmt;

use nalgebra::SVector;

use crate::alloc_prelude::*;
use crate::base::linalg::ensure_cols;
use crate::nn::layer::{DynTape, LayerInfo};
use crate::nn::param::Path;
use crate::{base::linalg::Batch, base::scalar::Scalar, nn::layer::Layer, nn::takes::Takes};

/// A residual block: `y = x + f(x)` for an inner layer (usually a chain) `f` from `N` to `N`
/// values. An inner layer that changes the size does not compile.
///
/// Its tensors are named under `inner` (`1.inner.0.weight` for a chain inside the block at
/// position 1, `1.inner.weight` for a single layer), so PyTorch loads them into a module
/// whose child `inner` is the same `nn.Sequential`:
///
/// ```python
/// class Residual(nn.Module):
///     def __init__(self, *layers):
///         super().__init__()
///         self.inner = nn.Sequential(*layers)
///     def forward(self, x):
///         return x + self.inner(x)
/// ```
///
/// The block follows the training switch and keeps the inner layers' counters; the summary
/// shows it on one row and its inner layers below it.
///
/// # Example
/// ```
/// use constnet::{Net, nn::{Build, Layer, Linear, Relu, Residual}};
/// use constnet::rand::{SeedableRng, rngs::StdRng};
///
/// type Block = Residual<Net![Linear<16, 16>, Relu, Linear<16, 16>]>;
/// type Mlp = Net![Linear<4, 16>, Relu, Block, Relu, Linear<16, 3>];
/// let net = Mlp::init(&mut StdRng::seed_from_u64(0));
/// let mut names = Vec::new();
/// net.visit_params(&constnet::nn::Path::ROOT, &mut |p| names.push(p.full_name().to_string()));
/// assert_eq!(names[2..6], ["2.inner.0.weight", "2.inner.0.bias", "2.inner.2.weight", "2.inner.2.bias"]);
/// ```
#[derive(Clone, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Residual<L> {
    inner: L,
}

impl<L> Residual<L> {
    /// The block `x + inner(x)`.
    pub const fn new(inner: L) -> Self {
        Residual { inner }
    }

    /// The inner layer.
    pub fn inner(&self) -> &L {
        &self.inner
    }

    /// The inner layer, mutably.
    pub fn inner_mut(&mut self) -> &mut L {
        &mut self.inner
    }
}

impl<L: fmt::Debug> fmt::Debug for Residual<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Residual").field(&self.inner).finish()
    }
}

impl<L: Takes<N>, const N: usize> Takes<N> for Residual<L> {}

/// The minibatch tape of a [`Residual`]: the inner layer's tape and output.
#[derive(Debug)]
struct ResidualTape<T: Scalar, const N: usize> {
    inner: DynTape,
    fx: Batch<T, N>,
}

impl<T: Scalar, const N: usize> Default for ResidualTape<T, N> {
    fn default() -> Self {
        ResidualTape {
            inner: DynTape::default(),
            fx: Batch::zeros(0),
        }
    }
}

impl<T: Scalar, L: Layer<T, N, N>, const N: usize> Layer<T, N, N> for Residual<L> {
    /// The inner tape and the inner output `f(x)`.
    type Tape = (L::Tape, SVector<T, N>);

    #[inline(always)]
    fn forward_tape(&self, x: &SVector<T, N>) -> (SVector<T, N>, Self::Tape) {
        let (fx, tape) = self.inner.forward_tape(x);
        (x + fx, (tape, fx))
    }

    #[inline(always)]
    fn forward_untaped(&self, x: &SVector<T, N>) -> SVector<T, N> {
        x + self.inner.forward_untaped(x)
    }

    #[inline(always)]
    fn backward(
        &mut self,
        x: &SVector<T, N>,
        _y: &SVector<T, N>,
        dy: &SVector<T, N>,
        (tape, fx): &Self::Tape,
    ) -> SVector<T, N> {
        dy + self.inner.backward(x, fx, dy, tape)
    }

    fn forward_batch(&self, x: &Batch<T, N>, y: &mut Batch<T, N>, tape: &mut DynTape) {
        let tape = tape.get_mut::<ResidualTape<T, N>>();
        self.inner.forward_batch(x, &mut tape.fx, &mut tape.inner);
        ensure_cols(y, x.ncols());
        let sums = x.as_slice().iter().zip(tape.fx.as_slice());
        for (out, (&a, &b)) in y.as_mut_slice().iter_mut().zip(sums) {
            *out = a + b;
        }
    }

    fn backward_batch(
        &mut self,
        x: &Batch<T, N>,
        _y: &Batch<T, N>,
        dy: &Batch<T, N>,
        dx: Option<&mut Batch<T, N>>,
        tape: &mut DynTape,
    ) {
        let tape = tape.get_mut::<ResidualTape<T, N>>();
        match dx {
            Some(dx) => {
                self.inner
                    .backward_batch(x, &tape.fx, dy, Some(&mut *dx), &mut tape.inner);
                *dx += dy;
            }
            None => self
                .inner
                .backward_batch(x, &tape.fx, dy, None, &mut tape.inner),
        }
    }

    /// One row for the block (its parameters are counted on its inner layers' rows), then
    /// the inner layers, named by their place inside it (`└ inner.0 Linear<16, 16>`).
    fn describe(&self, at: &Path<'_>, f: &mut dyn FnMut(LayerInfo)) {
        let position = at.top();
        f(LayerInfo {
            position,
            name: String::from("Residual (x + inner)"),
            inputs: N,
            outputs: N,
            params: 0,
            input_dims: Vec::new(),
            output_dims: Vec::new(),
        });
        // Numbered from 0 inside the block: the inner rows' positions are their places there.
        self.inner.describe(&Path::ROOT, &mut |mut info| {
            let place = if self.inner.depth() > 1 {
                format!("inner.{}", info.position)
            } else {
                String::from("inner")
            };
            info.name = format!("└ {place} {}", info.name);
            info.position = position;
            f(info);
        });
    }

    crate::params! {
        inner: layer(inner);
    }

    crate::nn::layer::onnx_form! {
        |self, at, g| {
            // The inner layers, named under `inner` as their tensors are, then `Add` of the input.
            let (skip, dims) = (g.value().to_string(), g.dims().to_vec());
            let named = at.child(crate::nn::Segment::Name("inner"));
            let first = named.child(crate::nn::Segment::Index(0));
            let inner = if self.inner.depth() > 1 {
                &first
            } else {
                &named
            };
            self.inner.to_onnx(inner, g)?;
            g.add(at, &skip, &dims);
            Ok(())
        }
    }
}
