//! [`Record`]: what a training checkpoint holds besides the network's weights — named tensors
//! (an optimizer's moments, early stopping's best weights, a scaler) and named values (epochs
//! done, the best loss so far), each written and read back exactly.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::str::FromStr;

use crate::error::Error;
use crate::nn::param::{Shape, from_row_major, to_row_major};

/// Named tensors and named values, as a training checkpoint stores them beside the weights:
/// tensors as safetensors tensors (in PyTorch's shape and row-major layout), values as text in
/// the file's metadata (numbers in Rust's shortest form that reads back to the same bits).
///
/// Each part of a training run writes its own names under a prefix of its own
/// (`optimizer.`, `trainer.`, `callbacks.0.`), and reads them back when the run resumes.
///
/// # Example
/// ```
/// use constnet::io::Record;
/// let mut record = Record::<f32>::default();
/// record.put("best.loss", 0.1 + 0.2);
/// record.put_tensor("best.weights", vec![3], vec![1.0, 2.0, 3.0]);
/// assert_eq!(record.get::<f64>("best.loss")?, 0.1 + 0.2);
/// assert_eq!(record.tensor("best.weights", &[3])?, &[1.0, 2.0, 3.0]);
/// assert!(record.get::<f64>("best.epoch").is_err());
/// # Ok::<(), constnet::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Record<T> {
    pub(crate) tensors: BTreeMap<String, (Vec<usize>, Vec<T>)>,
    pub(crate) values: BTreeMap<String, String>,
}

impl<T> Default for Record<T> {
    fn default() -> Self {
        Record {
            tensors: BTreeMap::new(),
            values: BTreeMap::new(),
        }
    }
}

impl<T: Copy> Record<T> {
    /// Stores `value` (a number, a flag, text) under `name`.
    pub fn put(&mut self, name: impl Into<String>, value: impl Display) {
        self.values.insert(name.into(), value.to_string());
    }

    /// The value stored under `name`.
    ///
    /// # Errors
    /// [`Error::Checkpoint`] naming it if it is missing or does not read as a `V`.
    pub fn get<V: FromStr>(&self, name: &str) -> Result<V, Error> {
        let text = self.values.get(name).ok_or_else(|| Error::Checkpoint {
            problem: format!("`{name}` is missing"),
        })?;
        text.parse().map_err(|_| Error::Checkpoint {
            problem: format!("`{name}` is {text:?}, not a value of its kind"),
        })
    }

    /// The value stored under `name`, if any.
    ///
    /// # Errors
    /// [`Error::Checkpoint`] if it is there but does not read as a `V`.
    pub fn get_opt<V: FromStr>(&self, name: &str) -> Result<Option<V>, Error> {
        if self.values.contains_key(name) {
            self.get(name).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Stores a tensor of PyTorch shape `dims` with its values in row-major order.
    pub fn put_tensor(&mut self, name: impl Into<String>, dims: Vec<usize>, values: Vec<T>) {
        self.tensors.insert(name.into(), (dims, values));
    }

    /// The values (row-major) of tensor `name`, which must have shape `dims`.
    ///
    /// # Errors
    /// [`Error::Checkpoint`] naming it if it is missing or of another shape.
    pub fn tensor(&self, name: &str, dims: &[usize]) -> Result<&[T], Error> {
        match self.tensors.get(name) {
            Some((found, values)) if found == dims => Ok(values),
            Some((found, _)) => Err(Error::Checkpoint {
                problem: format!("`{name}` has shape {found:?}, not {dims:?}"),
            }),
            None => Err(Error::Checkpoint {
                problem: format!("tensor `{name}` is missing"),
            }),
        }
    }

    /// The values of the vector `name`, of any length, if there is one.
    ///
    /// # Errors
    /// [`Error::Checkpoint`] if `name` is a tensor of more than one dimension.
    pub fn vector(&self, name: &str) -> Result<Option<&[T]>, Error> {
        match self.tensors.get(name) {
            None => Ok(None),
            Some((dims, values)) if dims.len() == 1 => Ok(Some(values)),
            Some((dims, _)) => Err(Error::Checkpoint {
                problem: format!("`{name}` has shape {dims:?}, not that of a vector"),
            }),
        }
    }

    /// Stores a parameter-shaped buffer (values in the parameter's layout, column-major for
    /// a matrix) as a tensor of the parameter's PyTorch shape.
    pub(crate) fn put_param_like(&mut self, name: String, shape: Shape, values: &[T]) {
        self.put_tensor(name, shape.dims(), to_row_major(shape, values));
    }

    /// A parameter-shaped buffer stored by [`Record::put_param_like`], back in the
    /// parameter's layout.
    pub(crate) fn param_like(&self, name: &str, shape: Shape) -> Result<Vec<T>, Error> {
        let row_major = self.tensor(name, &shape.dims())?;
        Ok(from_row_major(shape, row_major))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_back_to_the_same_bits() {
        let mut record = Record::<f32>::default();
        for (i, v) in [0.1 + 0.2, 1e-310, -0.0, f64::MAX, 5e-324]
            .into_iter()
            .enumerate()
        {
            record.put(format!("v{i}"), v);
            assert_eq!(
                record.get::<f64>(&format!("v{i}")).unwrap().to_bits(),
                v.to_bits()
            );
        }
        record.put("n", u64::MAX);
        assert_eq!(record.get::<u64>("n").unwrap(), u64::MAX);
        assert!(record.get::<u32>("n").is_err());
        assert_eq!(record.get_opt::<u64>("absent").unwrap(), None);
    }
}
