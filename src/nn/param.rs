//! Parameters as layers hand them out: where they sit in a network ([`Path`]), their names,
//! shapes and decay flags ([`Param`], [`ParamMut`]), and the [`params!`](crate::params) macro
//! that declares them once.

use core::fmt;

use crate::alloc_prelude::*;

/// One step of a [`Path`]: a position in a sequence (`2`) or a named child (`inner`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment {
    /// The position of a layer in a sequence, from 0, counting activations (PyTorch's
    /// `nn.Sequential` numbering).
    Index(usize),
    /// A child module by name, as a wrapper layer calls it.
    Name(&'static str),
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Segment::Index(i) => write!(f, "{i}"),
            Segment::Name(name) => f.write_str(name),
        }
    }
}

/// Where a layer sits in a network: the segments from the outermost sequence inwards, e.g.
/// `2` for the third layer of a chain, or `1.inner.0` for the first layer inside a wrapper
/// at position 1. It lives on the stack (each segment borrows its parent), so visiting the
/// parameters allocates nothing; `Display` writes PyTorch's dotted module name.
#[derive(Debug, Clone, Copy)]
pub struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    segment: Segment,
}

impl Path<'static> {
    /// The first position of a network: `0`.
    pub const ROOT: Path<'static> = Path {
        parent: None,
        segment: Segment::Index(0),
    };
}

impl<'a> Path<'a> {
    /// The position `by` places further on in the same sequence (`2` → `5` for `by = 3`).
    /// A named segment has no further places: it stays as it is.
    pub fn next(&self, by: usize) -> Path<'a> {
        let segment = match self.segment {
            Segment::Index(i) => Segment::Index(i + by),
            named => named,
        };
        Path {
            parent: self.parent,
            segment,
        }
    }

    /// A child of this layer: `1` → `1.inner`.
    pub fn child(&'a self, segment: Segment) -> Path<'a> {
        Path {
            parent: Some(self),
            segment,
        }
    }

    /// The last segment.
    pub fn segment(&self) -> Segment {
        self.segment
    }

    /// The position in the outermost sequence (the first segment's index, 0 for a name).
    pub fn top(&self) -> usize {
        match self.parent {
            Some(parent) => parent.top(),
            None => match self.segment {
                Segment::Index(i) => i,
                Segment::Name(_) => 0,
            },
        }
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(parent) = self.parent {
            write!(f, "{parent}.")?;
        }
        write!(f, "{}", self.segment)
    }
}

/// The shape of a parameter tensor and the layout of its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A vector of this many values (a bias, a scale).
    Vector(usize),
    /// A matrix, its values in column-major order (nalgebra's layout); saved row-major as
    /// PyTorch's `[rows, cols]`.
    Matrix {
        /// Rows (a weight's outputs).
        rows: usize,
        /// Columns (a weight's inputs).
        cols: usize,
    },
    /// A tensor of rank 3 or 4 (a convolution's filters, PyTorch's `[out, in, kh, kw]` or
    /// `[out, in, k]`), its values in row-major order, PyTorch's layout; `dims` beyond
    /// `rank` are 1.
    Tensor {
        /// The sizes, outermost first.
        dims: [usize; 4],
        /// How many of `dims` count.
        rank: usize,
    },
}

/// A parameter's values (column-major for a matrix) in PyTorch's row-major order.
#[cfg(any(feature = "safetensors", feature = "onnx"))]
pub(crate) fn to_row_major<T: Copy>(shape: Shape, values: &[T]) -> Vec<T> {
    match shape {
        Shape::Vector(_) | Shape::Tensor { .. } => values.to_vec(),
        Shape::Matrix { rows, cols } => (0..rows * cols)
            .map(|i| values[(i % cols) * rows + i / cols])
            .collect(),
    }
}

/// Row-major values back in a parameter's layout (column-major for a matrix).
#[cfg(feature = "safetensors")]
pub(crate) fn from_row_major<T: Copy>(shape: Shape, row_major: &[T]) -> Vec<T> {
    match shape {
        Shape::Vector(_) | Shape::Tensor { .. } => row_major.to_vec(),
        Shape::Matrix { rows, cols } => (0..rows * cols)
            .map(|i| row_major[(i % rows) * cols + i / rows])
            .collect(),
    }
}

impl Shape {
    /// A single value of shape `[]` (rank 0), such as a count.
    pub const SCALAR: Shape = Shape::Tensor {
        dims: [1; 4],
        rank: 0,
    };

    /// The number of values.
    pub fn len(&self) -> usize {
        match *self {
            Shape::Vector(n) => n,
            Shape::Matrix { rows, cols } => rows * cols,
            Shape::Tensor { dims, .. } => dims.iter().product(),
        }
    }

    /// Whether it holds no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// PyTorch's shape of the tensor: `[n]`, `[rows, cols]` or a tensor's dims.
    pub fn dims(&self) -> Vec<usize> {
        match *self {
            Shape::Vector(n) => vec![n],
            Shape::Matrix { rows, cols } => vec![rows, cols],
            Shape::Tensor { dims, rank } => dims[..rank.min(4)].to_vec(),
        }
    }
}

/// What a tensor of a layer is for: a learned parameter, which optimizers update from its
/// gradient, or a buffer that training passes keep up to date themselves (PyTorch's
/// *buffers*, such as [`BatchNorm1d`](crate::nn::layers::BatchNorm1d)'s running statistics).
/// Both are saved with the weights (PyTorch's `state_dict` holds both); only learned ones
/// are counted as parameters, handed to optimizers, clipped or gradient-checked. A buffer
/// has no gradient (an empty slice).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A parameter learned by gradient descent.
    Learned,
    /// A running statistic (real values), updated by training passes.
    Running,
    /// A count, such as the number of batches seen, updated by training passes; a whole
    /// number held in the layer's scalar type and saved as a 64-bit integer of shape `[]`
    /// (PyTorch's `num_batches_tracked`).
    Count,
}

impl Role {
    /// Whether it is [`Role::Learned`].
    pub const fn is_learned(self) -> bool {
        matches!(self, Role::Learned)
    }
}

/// Read access to one parameter tensor, as handed out by
/// [`Layer::visit_params`](crate::nn::layer::Layer::visit_params).
#[derive(Debug)]
pub struct Param<'a, T> {
    /// The layer that owns it.
    pub path: &'a Path<'a>,
    /// Its name inside the layer (`"weight"`, `"bias"`, `"scale"`).
    pub name: &'static str,
    /// Whether weight decay applies to it (weights: yes; biases and scales: no).
    pub decay: bool,
    /// Learned, or a buffer that training passes update.
    pub role: Role,
    /// Its shape.
    pub shape: Shape,
    /// The values, in the layout of [`Shape`].
    pub value: &'a [T],
}

/// Write access to one parameter tensor and its accumulated gradient, as handed out by
/// [`Layer::visit_params_mut`](crate::nn::layer::Layer::visit_params_mut) to an optimizer.
#[derive(Debug)]
pub struct ParamMut<'a, T> {
    /// The layer that owns it.
    pub path: &'a Path<'a>,
    /// Its name inside the layer.
    pub name: &'static str,
    /// Whether weight decay applies to it.
    pub decay: bool,
    /// Learned, or a buffer that training passes update.
    pub role: Role,
    /// Its shape.
    pub shape: Shape,
    /// The values, in the layout of [`Shape`].
    pub value: &'a mut [T],
    /// The gradient accumulated by the backward passes since the last update, same layout
    /// (empty for a buffer).
    pub grad: &'a mut [T],
}

/// What [`Layer::visit_state`](crate::nn::layer::Layer::visit_state) is asked to do with the state a
/// layer keeps besides its parameters.
pub enum StateOp<'a> {
    /// Switch training mode on (`true`) or off.
    Train(bool),
    /// Report every counter, by full name (`3.calls`).
    Save(&'a mut dyn FnMut(String, u64)),
    /// Set every counter from its full name; `None` leaves it as it is.
    Load(&'a mut dyn FnMut(&str) -> Option<u64>),
}

impl fmt::Debug for StateOp<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateOp::Train(on) => write!(f, "Train({on})"),
            StateOp::Save(_) => f.write_str("Save"),
            StateOp::Load(_) => f.write_str("Load"),
        }
    }
}

/// The full name of a tensor, PyTorch's `state_dict` key: `2.weight`, `1.inner.0.bias`.
pub struct FullName<'a> {
    path: &'a Path<'a>,
    name: &'static str,
}

impl fmt::Display for FullName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.path, self.name)
    }
}

impl<T> Param<'_, T> {
    /// The full name, PyTorch's `state_dict` key (`2.weight`); `to_string()` for a `String`.
    pub fn full_name(&self) -> FullName<'_> {
        FullName {
            path: self.path,
            name: self.name,
        }
    }
}

impl<T> ParamMut<'_, T> {
    /// The full name, PyTorch's `state_dict` key (`2.weight`); `to_string()` for a `String`.
    pub fn full_name(&self) -> FullName<'_> {
        FullName {
            path: self.path,
            name: self.name,
        }
    }
}

/// Declares a layer's parameters once, inside its `impl Layer`: writes
/// [`Layer::visit_params`](crate::nn::layer::Layer::visit_params),
/// [`Layer::visit_params_mut`](crate::nn::layer::Layer::visit_params_mut) and
/// [`Layer::visit_state`](crate::nn::layer::Layer::visit_state), so that no tensor can be left out of one
/// of them and a wrapped layer is never forgotten. The layer's scalar type is `T`; a layer of one scalar type names it
/// first: `params! { scalar f64; ... }`.
///
/// Each line names a tensor and the fields that hold it and its gradient:
/// - `name: matrix(value_field, grad_field)` — a matrix (`SMatrix`, boxed or not);
/// - `name: vector(value_field, grad_field)` — a vector (`SVector`, boxed or not);
/// - `, decay` after either — weight decay applies to it (weights do; biases and scales
///   usually do not, so the default is off);
/// - `name: running(value_field)` — a buffer of running statistics ([`Role::Running`]): saved
///   with the weights, not learned (no gradient field);
/// - `name: count(value_field)` — a count kept in a one-element array of the scalar type
///   ([`Role::Count`]), saved as a 64-bit integer of shape `[]`;
/// - `mode: training(field)` — a `bool` field that follows the training switch
///   ([`Layer::set_training`](crate::nn::layer::Layer::set_training)), for a layer that
///   behaves differently in training (no tensor);
/// - `name: layer(field)` — a layer inside this one (a wrapper's child): its tensors are
///   named under `name` (`3.inner.0.weight`, or `3.inner.weight` for a single layer), so no
///   two tensors can share a name, and it follows the training switch and keeps its counters
///   ([`Layer::visit_state`](crate::nn::layer::Layer::visit_state)).
///
/// `params! {}` declares a layer without parameters.
///
/// # Example
/// ```
/// use constnet::{Scalar, params, nn::{Layer, Takes}};
/// use nalgebra::SVector;
///
/// /// `y = s ⊙ x`, with a learned scale `s` that is not decayed.
/// struct Scale<const N: usize, T: Scalar = f32> {
///     s: SVector<T, N>,
///     s_grad: SVector<T, N>,
/// }
/// impl<const N: usize, T: Scalar> Takes<N> for Scale<N, T> {}
/// impl<const N: usize, T: Scalar> Layer<T, N, N> for Scale<N, T> {
///     type Tape = ();
///     fn forward_tape(&self, x: &SVector<T, N>) -> (SVector<T, N>, ()) {
///         (x.component_mul(&self.s), ())
///     }
///     fn backward(&mut self, x: &SVector<T, N>, _: &SVector<T, N>, dy: &SVector<T, N>, _: &()) -> SVector<T, N> {
///         self.s_grad += dy.component_mul(x);
///         dy.component_mul(&self.s)
///     }
///     params! { scale: vector(s, s_grad); }
/// }
/// let layer = Scale::<3> { s: SVector::repeat(2.0), s_grad: SVector::zeros() };
/// let mut names = Vec::new();
/// layer.visit_params(&constnet::nn::Path::ROOT, &mut |p| names.push((p.full_name().to_string(), p.decay)));
/// assert_eq!(names, [("0.scale".to_string(), false)]);
/// ```
#[macro_export]
macro_rules! params {
    ($($name:ident : $kind:ident ( $($field:ident),* ) $(, $flag:ident)? ;)*) => {
        $crate::params! { scalar T; $($name : $kind ( $($field),* ) $(, $flag)? ;)* }
    };
    (scalar $t:ty; $($name:ident : $kind:ident ( $($field:ident),* ) $(, $flag:ident)? ;)*) => {
        fn visit_params<F: FnMut($crate::nn::Param<'_, $t>)>(&self, at: &$crate::nn::Path<'_>, f: &mut F) {
            let _ = (&at, &f);
            $($crate::params!(@visit self, at, f, $name, $kind ( $($field),* ), [$($flag)?]);)*
        }
        fn visit_params_mut<F: FnMut($crate::nn::ParamMut<'_, $t>)>(
            &mut self,
            at: &$crate::nn::Path<'_>,
            f: &mut F,
        ) {
            let _ = (&at, &f);
            $($crate::params!(@visit_mut self, at, f, $name, $kind ( $($field),* ), [$($flag)?]);)*
        }
        fn visit_state(&mut self, at: &$crate::nn::Path<'_>, op: &mut $crate::nn::StateOp<'_>) {
            let _ = (&at, &op);
            $($crate::params!(@state self, at, op, $name, $kind ( $($field),* ));)*
        }
    };
    (@state $self:ident, $at:ident, $op:ident, $name:ident, layer ($child:ident)) => {{
        let named = $at.child($crate::nn::Segment::Name(stringify!($name)));
        let first = named.child($crate::nn::Segment::Index(0));
        let inner = if $self.$child.depth() > 1 { &first } else { &named };
        $self.$child.visit_state(inner, $op);
    }};
    (@state $self:ident, $at:ident, $op:ident, $name:ident, training ($field:ident)) => {
        if let $crate::nn::StateOp::Train(on) = $op {
            $self.$field = *on;
        }
    };
    (@state $self:ident, $at:ident, $op:ident, $name:ident, $kind:ident ($($field:ident),*)) => {};
    (@visit $self:ident, $at:ident, $f:ident, $name:ident, training ($field:ident), []) => {};
    (@visit_mut $self:ident, $at:ident, $f:ident, $name:ident, training ($field:ident), []) => {};
    (@decay []) => { false };
    (@decay [decay]) => { true };
    (@shape matrix, $v:expr) => {
        $crate::nn::Shape::Matrix { rows: $v.nrows(), cols: $v.ncols() }
    };
    (@shape vector, $v:expr) => { $crate::nn::Shape::Vector($v.len()) };
    (@shape running, $v:expr) => { $crate::nn::Shape::Vector($v.len()) };
    (@shape count, $v:expr) => { $crate::nn::Shape::SCALAR };
    (@role matrix) => { $crate::nn::Role::Learned };
    (@role vector) => { $crate::nn::Role::Learned };
    (@role running) => { $crate::nn::Role::Running };
    (@role count) => { $crate::nn::Role::Count };
    (@visit $self:ident, $at:ident, $f:ident, $name:ident, running ($value:ident), []) => {
        $crate::params!(@buffer $self, $at, $f, $name, running ($value))
    };
    (@visit $self:ident, $at:ident, $f:ident, $name:ident, count ($value:ident), []) => {
        $crate::params!(@buffer $self, $at, $f, $name, count ($value))
    };
    (@visit_mut $self:ident, $at:ident, $f:ident, $name:ident, running ($value:ident), []) => {
        $crate::params!(@buffer_mut $self, $at, $f, $name, running ($value))
    };
    (@visit_mut $self:ident, $at:ident, $f:ident, $name:ident, count ($value:ident), []) => {
        $crate::params!(@buffer_mut $self, $at, $f, $name, count ($value))
    };
    (@buffer $self:ident, $at:ident, $f:ident, $name:ident, $kind:ident ($value:ident)) => {
        $f($crate::nn::Param {
            path: $at,
            name: stringify!($name),
            decay: false,
            role: $crate::params!(@role $kind),
            shape: $crate::params!(@shape $kind, $self.$value),
            value: $self.$value.as_slice(),
        })
    };
    (@buffer_mut $self:ident, $at:ident, $f:ident, $name:ident, $kind:ident ($value:ident)) => {
        $f($crate::nn::ParamMut {
            path: $at,
            name: stringify!($name),
            decay: false,
            role: $crate::params!(@role $kind),
            shape: $crate::params!(@shape $kind, $self.$value),
            value: $self.$value.as_mut_slice(),
            grad: &mut [],
        })
    };
    (@visit $self:ident, $at:ident, $f:ident, $name:ident, layer ($child:ident), []) => {{
        let named = $at.child($crate::nn::Segment::Name(stringify!($name)));
        let first = named.child($crate::nn::Segment::Index(0));
        $self.$child.visit_params(if $self.$child.depth() > 1 { &first } else { &named }, $f);
    }};
    (@visit_mut $self:ident, $at:ident, $f:ident, $name:ident, layer ($child:ident), []) => {{
        let named = $at.child($crate::nn::Segment::Name(stringify!($name)));
        let first = named.child($crate::nn::Segment::Index(0));
        let inner = if $self.$child.depth() > 1 { &first } else { &named };
        $self.$child.visit_params_mut(inner, $f);
    }};
    (@visit $self:ident, $at:ident, $f:ident, $name:ident, $kind:ident ($value:ident, $grad:ident), [$($flag:ident)?]) => {
        $f($crate::nn::Param {
            path: $at,
            name: stringify!($name),
            decay: $crate::params!(@decay [$($flag)?]),
            role: $crate::nn::Role::Learned,
            shape: $crate::params!(@shape $kind, $self.$value),
            value: $self.$value.as_slice(),
        })
    };
    (@visit_mut $self:ident, $at:ident, $f:ident, $name:ident, $kind:ident ($value:ident, $grad:ident), [$($flag:ident)?]) => {
        $f($crate::nn::ParamMut {
            path: $at,
            name: stringify!($name),
            decay: $crate::params!(@decay [$($flag)?]),
            role: $crate::nn::Role::Learned,
            shape: $crate::params!(@shape $kind, $self.$value),
            value: $self.$value.as_mut_slice(),
            grad: $self.$grad.as_mut_slice(),
        })
    };
}

#[cfg(all(test, feature = "safetensors"))]
mod tests {
    use super::*;

    #[test]
    fn layouts_round_trip() {
        let shape = Shape::Matrix { rows: 2, cols: 3 };
        // Column-major [[1, 2, 3], [4, 5, 6]].
        let col = [1, 4, 2, 5, 3, 6];
        assert_eq!(to_row_major(shape, &col), [1, 2, 3, 4, 5, 6]);
        assert_eq!(from_row_major(shape, &[1, 2, 3, 4, 5, 6]), col);
    }
}
