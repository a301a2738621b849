//! [`Takes`](crate::nn::Takes): the one fact about a layer that chaining checks, there to word the compile
//! error of a size mismatch.

/// A layer that takes `I` inputs: the one fact about a layer that chaining checks.
///
/// Every [`Layer`](crate::nn::Layer)`<T, I, O>` is `Takes<I>`. A [`Chain`](crate::nn::Chain) whose second layer does not take
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
