//! A per-layer table of a network, as PyTorch users get from torchinfo and Keras users
//! from `summary()`.

use core::fmt;

use crate::alloc_prelude::*;
use crate::nn::layer::LayerInfo;
use crate::nn::param::Path;
use crate::{base::scalar::Scalar, nn::layer::Layer};

/// The layers of a network with their sizes and parameter counts; `Display` prints a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// One row per layer, first to last.
    pub layers: Vec<LayerInfo>,
}

impl Summary {
    /// The number of trainable scalars in all layers.
    pub fn total_params(&self) -> usize {
        self.layers.iter().map(|l| l.params).sum()
    }
}

/// The summary of `net`: position, layer, inputs → outputs and parameters of every layer.
///
/// # Example
/// ```
/// use constnet::{Net, nn::{Build, Linear, Relu, summary}};
/// type Mlp = Net![Linear<784, 256>, Relu, Linear<256, 10>];
/// let table = summary(&Mlp::zeros()).to_string();
/// assert_eq!(table, "\
/// ##  layer             inputs → outputs  parameters
/// 0  Linear<784, 256>     784 → 256         200,960
/// 1  Relu                 256 → 256               0
/// 2  Linear<256, 10>      256 → 10            2,570
///    total                                  203,530
/// ");
/// ```
pub fn summary<T: Scalar, N: Layer<T, I, O>, const I: usize, const O: usize>(net: &N) -> Summary {
    let mut layers = Vec::new();
    net.describe(&Path::ROOT, &mut |info| layers.push(info));
    Summary { layers }
}

/// `1234567` as `1,234,567`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl Summary {
    /// Each layer's input and output as text: `8 x 24 x 24` for images (`C x H x W`) and
    /// signals (`C x L`), the count for flat vectors. A layer that keeps the size and does
    /// not say its shape (an activation) shows the shape before it.
    fn shapes(&self) -> Vec<(String, String)> {
        let text = |dims: &[usize], n: usize| {
            if dims.is_empty() {
                n.to_string()
            } else {
                dims.iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(" x ")
            }
        };
        let mut before: Vec<usize> = Vec::new();
        let mut rows = Vec::new();
        for l in &self.layers {
            let known = before.iter().product::<usize>() == l.inputs;
            let input = match (&l.input_dims[..], known) {
                ([], true) => before.clone(),
                ([], false) => Vec::new(),
                (dims, _) => dims.to_vec(),
            };
            let output = match &l.output_dims[..] {
                [] if l.inputs == l.outputs => input.clone(),
                dims => dims.to_vec(),
            };
            rows.push((text(&input, l.inputs), text(&output, l.outputs)));
            before = output;
        }
        rows
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name_width = self
            .layers
            .iter()
            .map(|l| l.name.chars().count())
            .max()
            .unwrap_or(0)
            .max(5);
        let position_width = self.layers.len().saturating_sub(1).to_string().len();
        let total = thousands(self.total_params());
        let params_width = total.len().max("parameters".len());
        let shapes = self.shapes();
        let inputs_width = shapes
            .iter()
            .map(|s| s.0.len())
            .max()
            .unwrap_or(0)
            .max("inputs".len());
        let outputs_width = shapes
            .iter()
            .map(|s| s.1.len())
            .max()
            .unwrap_or(0)
            .max("outputs".len());
        writeln!(
            f,
            "{:<position_width$}  {:<name_width$}  {:>inputs_width$} → {:<outputs_width$}  {:>params_width$}",
            "#", "layer", "inputs", "outputs", "parameters"
        )?;
        for (l, (inputs, outputs)) in self.layers.iter().zip(&shapes) {
            writeln!(
                f,
                "{:<position_width$}  {:<name_width$}  {:>inputs_width$} → {:<outputs_width$}  {:>params_width$}",
                l.position,
                l.name,
                inputs,
                outputs,
                thousands(l.params)
            )?;
        }
        let blank = "";
        writeln!(
            f,
            "{blank:<position_width$}  {:<name_width$}  {blank:>inputs_width$}   {blank:<outputs_width$}  {total:>params_width$}",
            "total"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_get_their_thousands_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
