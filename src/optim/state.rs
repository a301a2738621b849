//! Optimizer state as data: per parameter tensor, by name and shape, the buffers an optimizer
//! keeps (SGD's momentum, Adam's moments), and the number of steps taken.

use crate::alloc_prelude::*;
use crate::error::Error;
use crate::nn::param::{ParamMut, Shape};

/// The state of one parameter tensor: its name and shape, and one buffer of the tensor's
/// length per name in [`OptimizerState::buffer_names`], in the tensor's layout (column-major
/// for a matrix, as the parameter).
#[derive(Debug, Clone, PartialEq)]
pub struct TensorState<T> {
    /// The parameter's full name (`2.weight`).
    pub name: String,
    /// The parameter's shape.
    pub shape: Shape,
    /// The buffers, in the order of [`OptimizerState::buffer_names`].
    pub buffers: Vec<Vec<T>>,
}

/// Everything an optimizer keeps between steps, as data that can be inspected, saved and
/// loaded ([`Optimizer::state`](crate::optim::Optimizer::state),
/// [`Optimizer::load_state`](crate::optim::Optimizer::load_state)). Tensors are kept in the order in
/// which the network visits its parameters, each under its name and checked by its shape at
/// every step: a state of another network is an error, never silently zeroed.
///
/// In a training checkpoint, buffer `b` of parameter `p` is the tensor `optimizer.p.b`
/// (`optimizer.0.weight.exp_avg`), in PyTorch's shape and layout like the parameter; the
/// optimizer and its step count are in the file's metadata (`optimizer`, `optimizer.steps`).
#[derive(Debug, Clone, PartialEq)]
pub struct OptimizerState<T> {
    /// Which optimizer keeps it (`"Sgd"`, `"Adam"`).
    pub optimizer: &'static str,
    /// The names of the buffers it keeps per tensor, PyTorch's (`momentum_buffer`;
    /// `exp_avg`, `exp_avg_sq`); none for plain SGD.
    pub buffer_names: &'static [&'static str],
    /// Steps taken (Adam's `t`).
    pub steps: u64,
    /// Per parameter tensor, in visiting order; empty before the first step.
    pub tensors: Vec<TensorState<T>>,
}

impl<T: Copy + Default> OptimizerState<T> {
    /// An empty state: no step taken.
    pub fn new(optimizer: &'static str, buffer_names: &'static [&'static str]) -> Self {
        OptimizerState {
            optimizer,
            buffer_names,
            steps: 0,
            tensors: Vec::new(),
        }
    }

    /// The buffers of tensor `slot` for `param`: made (zero) on its first step, checked by
    /// shape after that.
    ///
    /// # Errors
    /// [`Error::OptimizerState`] if the state of `slot` is of a tensor of another shape, or
    /// the tensors are visited out of order (the state is of another network).
    #[inline]
    pub(crate) fn buffers<P>(
        &mut self,
        slot: usize,
        param: &ParamMut<'_, P>,
    ) -> Result<&mut [Vec<T>], Error> {
        if slot == self.tensors.len() {
            self.add(param);
        }
        if !self
            .tensors
            .get(slot)
            .is_some_and(|t| t.shape == param.shape)
        {
            return Err(self.mismatch(slot, param));
        }
        Ok(&mut self.tensors[slot].buffers)
    }

    /// Zero buffers for `param`'s first step (once per tensor: kept out of the update loop).
    #[cold]
    #[inline(never)]
    fn add<P>(&mut self, param: &ParamMut<'_, P>) {
        let len = param.value.len();
        self.tensors.push(TensorState {
            name: param.full_name().to_string(),
            shape: param.shape,
            buffers: vec![vec![T::default(); len]; self.buffer_names.len()],
        });
    }

    /// The error of a state that does not fit `param` at `slot`.
    #[cold]
    #[inline(never)]
    fn mismatch<P>(&self, slot: usize, param: &ParamMut<'_, P>) -> Error {
        let problem = match self.tensors.get(slot) {
            Some(tensor) => format!(
                "the optimizer's state for it is of `{}`, of shape {:?}, not {:?}",
                tensor.name,
                tensor.shape.dims(),
                param.shape.dims()
            ),
            None => format!(
                "the optimizer has state for {} tensors, and this is tensor {}",
                self.tensors.len(),
                slot + 1
            ),
        };
        Error::OptimizerState {
            tensor: param.full_name().to_string(),
            problem,
        }
    }

    /// Replaces this state with `other`, which must be of the same optimizer and buffers.
    ///
    /// # Errors
    /// [`Error::OptimizerState`] if `other` is of another optimizer, or of other buffers
    /// (SGD with momentum against plain SGD), or a tensor's buffers do not fit its shape.
    pub(crate) fn replace(&mut self, other: OptimizerState<T>) -> Result<(), Error> {
        if other.optimizer != self.optimizer || other.buffer_names != self.buffer_names {
            return Err(Error::OptimizerState {
                tensor: String::new(),
                problem: format!(
                    "a state of {} (buffers {:?}) cannot go on as {} (buffers {:?})",
                    other.optimizer, other.buffer_names, self.optimizer, self.buffer_names
                ),
            });
        }
        for tensor in &other.tensors {
            let fits = tensor.buffers.len() == self.buffer_names.len()
                && tensor.buffers.iter().all(|b| b.len() == tensor.shape.len());
            if !fits {
                return Err(Error::OptimizerState {
                    tensor: tensor.name.clone(),
                    problem: "its buffers do not hold one value per parameter".into(),
                });
            }
        }
        *self = other;
        Ok(())
    }

    /// Forgets everything: no step taken.
    pub(crate) fn clear(&mut self) {
        self.steps = 0;
        self.tensors.clear();
    }

    /// Tensors and values held, for `Debug`.
    pub(crate) fn size(&self) -> String {
        let values: usize = self
            .tensors
            .iter()
            .flat_map(|t| &t.buffers)
            .map(Vec::len)
            .sum();
        format!("{} tensors, {values} values", self.tensors.len())
    }
}
