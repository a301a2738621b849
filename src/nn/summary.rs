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

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name_width = self
            .layers
            .iter()
            .map(|l| l.name.len())
            .max()
            .unwrap_or(0)
            .max(5);
        let position_width = self.layers.len().saturating_sub(1).to_string().len();
        let total = thousands(self.total_params());
        let params_width = total.len().max("parameters".len());
        let width = |header: &str, size: fn(&LayerInfo) -> usize| {
            let widest = self.layers.iter().map(|l| size(l).to_string().len()).max();
            widest.unwrap_or(0).max(header.len())
        };
        let inputs_width = width("inputs", |l| l.inputs);
        let outputs_width = width("outputs", |l| l.outputs);
        writeln!(
            f,
            "{:<position_width$}  {:<name_width$}  {:>inputs_width$} → {:<outputs_width$}  {:>params_width$}",
            "#", "layer", "inputs", "outputs", "parameters"
        )?;
        for l in &self.layers {
            writeln!(
                f,
                "{:<position_width$}  {:<name_width$}  {:>inputs_width$} → {:<outputs_width$}  {:>params_width$}",
                l.position,
                l.name,
                l.inputs,
                l.outputs,
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
    use crate::nn::layer::short_type_name;

    #[test]
    fn names_lose_their_paths_and_numbers_their_digits() {
        assert_eq!(
            short_type_name("constnet::layers::linear::Linear<784, 128, f32>"),
            "Linear<784, 128>"
        );
        assert_eq!(
            short_type_name("constnet::layers::activation::Elementwise<my_crate::Squareplus>"),
            "Elementwise<Squareplus>"
        );
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
