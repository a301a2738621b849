//! Activation functions: elementwise non-linearities and softmax, each a [`Layer`] of any
//! size `N → N`.

use nalgebra::SVector;

use crate::base::linalg::ensure_cols;
use crate::nn::layer::DynTape;
use crate::{base::linalg::Batch, base::scalar::Scalar, nn::layer::Layer, nn::takes::Takes};

/// An elementwise function `y = f(x)` with its derivative.
///
/// Implement this for a new activation and wrap it in [`Elementwise`]: that is a
/// [`Layer`]`<T, N, N>` for every size `N`, with forward and backward of one sample and of a
/// minibatch.
///
/// # Example
/// ```
/// use constnet::nn::{Activation, Elementwise, Layer};
/// use nalgebra::SVector;
///
/// /// The "squareplus" activation (x + √(x² + 4)) / 2.
/// struct Squareplus;
/// impl Activation<f64> for Squareplus {
///     fn activate(&self, x: f64) -> f64 {
///         (x + (x * x + 4.0).sqrt()) / 2.0
///     }
///     fn derivative(&self, x: f64, _y: f64) -> f64 {
///         (1.0 + x / (x * x + 4.0).sqrt()) / 2.0
///     }
/// }
/// let y = Elementwise(Squareplus).forward(&SVector::<f64, 2>::from([0.0, 1.5]));
/// assert_eq!(y[0], 1.0);
/// ```
pub trait Activation<T: Scalar> {
    /// `f(x)`.
    fn activate(&self, x: T) -> T;
    /// `f′(x)`, given both the input `x` and the output `y = f(x)` (whichever is cheaper).
    fn derivative(&self, x: T, y: T) -> T;
}

/// Forward of one sample: `f` applied to every component.
#[inline(always)]
fn activate_all<T: Scalar, A: Activation<T>, const N: usize>(
    f: &A,
    x: &SVector<T, N>,
) -> SVector<T, N> {
    let mut y = *x;
    for v in y.as_mut_slice() {
        *v = f.activate(*v);
    }
    y
}

/// Implements [`Layer`]`<T, N, N>` for every `N` on an [`Activation`], by the chain rule;
/// `onnx` gives the ONNX operator and its attributes, if it has one.
macro_rules! elementwise_layer {
    ($(#[$doc:meta])* impl[$($generics:tt)*] for $ty:ty, onnx: $onnx:expr) => {
        $(#[$doc])*
        impl<T: Scalar, $($generics)* const N: usize> Layer<T, N, N> for $ty {
            type Tape = ();

            crate::params! {}

            crate::nn::layer::onnx_form! {
                |self, at, g| {
                    let operator: fn(&Self) -> Option<(&'static str, Vec<crate::nn::onnx::Attribute>)> = $onnx;
                    match operator(self) {
                        Some((op, attributes)) => crate::nn::onnx::forms::elementwise(at, g, op, attributes),
                        None => Err(crate::nn::onnx::not_exportable::<Self>(at)),
                    }
                }
            }

            #[inline(always)]
            fn forward_tape(&self, x: &SVector<T, N>) -> (SVector<T, N>, ()) {
                (activate_all(self, x), ())
            }

            #[inline(always)]
            fn backward(
                &mut self,
                x: &SVector<T, N>,
                y: &SVector<T, N>,
                dy: &SVector<T, N>,
                _: &(),
            ) -> SVector<T, N> {
                let mut dx = *dy;
                chain_rule(self, x.as_slice(), y.as_slice(), dx.as_mut_slice());
                dx
            }

            #[inline(always)]
            fn forward_batch(&self, x: &Batch<T, N>, y: &mut Batch<T, N>, _: &mut DynTape) {
                ensure_cols(y, x.ncols());
                for (o, &i) in y.as_mut_slice().iter_mut().zip(x.as_slice()) {
                    *o = Activation::<T>::activate(self, i);
                }
            }

            #[inline(always)]
            fn backward_batch(
                &mut self,
                x: &Batch<T, N>,
                y: &Batch<T, N>,
                dy: &Batch<T, N>,
                dx: Option<&mut Batch<T, N>>,
                _: &mut DynTape,
            ) {
                if let Some(dx) = dx {
                    ensure_cols(dx, dy.ncols());
                    // One pass, `dx = dy · f′`, rather than a copy of `dy` then a pass.
                    let (x, y, dy) = (x.as_slice(), y.as_slice(), dy.as_slice());
                    for (((d, &g), &x), &y) in dx.as_mut_slice().iter_mut().zip(dy).zip(x).zip(y) {
                        *d = g * Activation::<T>::derivative(self, x, y);
                    }
                }
            }
        }
    };
}

elementwise_layer!(impl[] for Relu, onnx: |_| Some(("Relu", Vec::new())));
elementwise_layer!(impl[] for LeakyRelu, onnx: |l| {
    Some(("LeakyRelu", vec![crate::nn::onnx::Attribute::float("alpha", l.slope)]))
});
elementwise_layer!(impl[] for Tanh, onnx: |_| Some(("Tanh", Vec::new())));
elementwise_layer!(impl[] for Sigmoid, onnx: |_| Some(("Sigmoid", Vec::new())));
elementwise_layer!(
    /// Any [`Activation`] becomes a layer by wrapping it in [`Elementwise`]. It has no ONNX
    /// form: export is [`Error::NotExportable`](crate::Error::NotExportable).
    impl[A: Activation<T>,] for Elementwise<A>, onnx: |_| None
);

impl<const N: usize> Takes<N> for Relu {}
impl<const N: usize> Takes<N> for LeakyRelu {}
impl<const N: usize> Takes<N> for Tanh {}
impl<const N: usize> Takes<N> for Sigmoid {}
impl<A, const N: usize> Takes<N> for Elementwise<A> {}

/// Makes a layer of your own [`Activation`]: `Elementwise(MyActivation)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Elementwise<A>(pub A);

impl<T: Scalar, A: Activation<T>> Activation<T> for Elementwise<A> {
    #[inline(always)]
    fn activate(&self, x: T) -> T {
        self.0.activate(x)
    }
    #[inline(always)]
    fn derivative(&self, x: T, y: T) -> T {
        self.0.derivative(x, y)
    }
}

/// `d ← d ⊙ f′(x)`, elementwise.
#[inline(always)]
fn chain_rule<T: Scalar, A: Activation<T> + ?Sized>(f: &A, x: &[T], y: &[T], d: &mut [T]) {
    for ((d, &x), &y) in d.iter_mut().zip(x).zip(y) {
        *d *= f.derivative(x, y);
    }
}

/// The rectified linear unit: `f(x) = max(0, x)`, `f′(x) = 1 if x > 0 else 0`.
///
/// # Example
/// ```
/// use constnet::nn::{Layer, Relu};
/// use nalgebra::SVector;
/// let y = Relu.forward(&SVector::<f32, 3>::from([-1.0, 0.0, 2.0]));
/// assert_eq!(y.as_slice(), &[0.0, 0.0, 2.0]);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Relu;

impl<T: Scalar> Activation<T> for Relu {
    #[inline(always)]
    fn activate(&self, x: T) -> T {
        if x > T::zero() { x } else { T::zero() }
    }
    #[inline(always)]
    fn derivative(&self, x: T, _y: T) -> T {
        if x > T::zero() { T::one() } else { T::zero() }
    }
}

/// The leaky ReLU: `f(x) = x if x > 0 else α·x`, with slope `α` (0.01 by default).
///
/// # Example
/// ```
/// use constnet::nn::{Layer, LeakyRelu};
/// use nalgebra::SVector;
/// let y = LeakyRelu::new(0.1).forward(&SVector::<f64, 2>::from([-2.0, 3.0]));
/// assert_eq!(y.as_slice(), &[-0.2, 3.0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeakyRelu {
    slope: f64,
}

impl LeakyRelu {
    /// A leaky ReLU with the given negative-side slope `α`.
    pub fn new(slope: f64) -> Self {
        LeakyRelu { slope }
    }
    /// The negative-side slope `α`.
    pub fn slope(&self) -> f64 {
        self.slope
    }
}

impl Default for LeakyRelu {
    fn default() -> Self {
        LeakyRelu::new(0.01)
    }
}

impl<T: Scalar> Activation<T> for LeakyRelu {
    #[inline(always)]
    fn activate(&self, x: T) -> T {
        if x > T::zero() {
            x
        } else {
            x * T::of(self.slope)
        }
    }
    #[inline(always)]
    fn derivative(&self, x: T, _y: T) -> T {
        if x > T::zero() {
            T::one()
        } else {
            T::of(self.slope)
        }
    }
}

/// The hyperbolic tangent: `f(x) = tanh x`, `f′(x) = 1 − tanh² x`.
///
/// In `f32` it is a fast rational approximation whose absolute error is below 5·10⁻⁷ and
/// whose magnitude never exceeds 1 (tested against `f64` over the whole range); in `f64` it
/// is the standard library's `tanh`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Tanh;

impl<T: Scalar> Activation<T> for Tanh {
    #[inline(always)]
    fn activate(&self, x: T) -> T {
        x.fast_tanh()
    }
    #[inline(always)]
    fn derivative(&self, _x: T, y: T) -> T {
        T::one() - y * y
    }
}

/// The logistic sigmoid: `f(x) = 1 / (1 + e^(−x))`, `f′(x) = f(x)·(1 − f(x))`.
///
/// In `f32` its relative error is below 2.5·10⁻⁷ over the whole range of inputs whose
/// output is a normal number (tested against `f64` at every 997th `f32` bit pattern, over 4 million points).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Sigmoid;

/// The logistic function `1 / (1 + e^(−x))`: no branch, and for inputs of any magnitude no
/// NaN (a huge `e^(−x)` overflows to infinity, giving 0).
#[inline(always)]
pub(crate) fn sigmoid<T: Scalar>(x: T) -> T {
    // Not ½ + ½·tanh(x/2): for negative x that cancels to nothing (22% off at x = −15 in
    // f32, exactly 0 below −15.8). 1/(1 + e^−x) keeps its relative accuracy down to the
    // smallest normal outputs, and is 0 only where e^−x overflows.
    T::one() / (T::one() + (-x).exp())
}

impl<T: Scalar> Activation<T> for Sigmoid {
    #[inline(always)]
    fn activate(&self, x: T) -> T {
        sigmoid(x)
    }
    #[inline(always)]
    fn derivative(&self, _x: T, y: T) -> T {
        y * (T::one() - y)
    }
}

/// Softmax over the `N` values of a sample: `yᵢ = e^(xᵢ) / Σⱼ e^(xⱼ)`, computed after
/// subtracting the maximum so that it cannot overflow.
///
/// Backward: `∂L/∂xᵢ = yᵢ·(∂L/∂yᵢ − Σⱼ yⱼ·∂L/∂yⱼ)`. As the last layer of a classifier, pair
/// it with [`CrossEntropy`](crate::nn::loss::CrossEntropy) (which takes probabilities); or leave it out
/// and use [`SoftmaxCrossEntropy`](crate::nn::loss::SoftmaxCrossEntropy) on the logits, which is the
/// same model, faster and more stable.
///
/// # Example
/// ```
/// use constnet::nn::{Layer, Softmax};
/// use nalgebra::SVector;
/// let p = Softmax.forward(&SVector::<f64, 3>::from([1.0, 2.0, 3.0]));
/// assert!((p.sum() - 1.0).abs() < 1e-12);
/// assert!(p[2] > p[1] && p[1] > p[0]);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Softmax;

/// Writes the softmax of `x` into `y` (both of one sample's length).
#[inline(always)]
fn softmax_into<T: Scalar>(x: &[T], y: &mut [T]) {
    let max = x
        .iter()
        .fold(T::min_value().unwrap_or(T::zero()), |m, &v| m.max(v));
    let mut sum = T::zero();
    for (o, &i) in y.iter_mut().zip(x) {
        *o = (i - max).exp();
        sum += *o;
    }
    let inv = T::one() / sum;
    for o in y.iter_mut() {
        *o *= inv;
    }
}

#[inline(always)]
fn softmax_backward<T: Scalar>(y: &[T], d: &mut [T]) {
    let dot = y
        .iter()
        .zip(d.iter())
        .fold(T::zero(), |s, (&y, &d)| s + y * d);
    for (d, &y) in d.iter_mut().zip(y) {
        *d = y * (*d - dot);
    }
}

impl<const N: usize> Takes<N> for Softmax {}

impl<T: Scalar, const N: usize> Layer<T, N, N> for Softmax {
    type Tape = ();

    crate::params! {}

    crate::nn::layer::onnx_form! {
        |self, at, g| {
            crate::nn::onnx::forms::softmax(at, g)
        }
    }

    #[inline(always)]
    fn forward_tape(&self, x: &SVector<T, N>) -> (SVector<T, N>, ()) {
        let mut y = SVector::<T, N>::zeros();
        softmax_into(x.as_slice(), y.as_mut_slice());
        (y, ())
    }

    #[inline(always)]
    fn backward(
        &mut self,
        _x: &SVector<T, N>,
        y: &SVector<T, N>,
        dy: &SVector<T, N>,
        _: &(),
    ) -> SVector<T, N> {
        let mut dx = *dy;
        softmax_backward(y.as_slice(), dx.as_mut_slice());
        dx
    }

    #[inline(always)]
    fn forward_batch(&self, x: &Batch<T, N>, y: &mut Batch<T, N>, _: &mut DynTape) {
        ensure_cols(y, x.ncols());
        let columns = x.as_slice().chunks_exact(N);
        for (o, i) in y.as_mut_slice().chunks_exact_mut(N).zip(columns) {
            softmax_into(i, o);
        }
    }

    #[inline(always)]
    fn backward_batch(
        &mut self,
        _x: &Batch<T, N>,
        y: &Batch<T, N>,
        dy: &Batch<T, N>,
        dx: Option<&mut Batch<T, N>>,
        _: &mut DynTape,
    ) {
        if let Some(dx) = dx {
            ensure_cols(dx, dy.ncols());
            dx.as_mut_slice().copy_from_slice(dy.as_slice());
            let columns = y.as_slice().chunks_exact(N);
            for (d, y) in dx.as_mut_slice().chunks_exact_mut(N).zip(columns) {
                softmax_backward(y, d);
            }
        }
    }
}

#[cfg(feature = "std")]
#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check_layer_gradients;
    use nalgebra::Vector3;

    #[test]
    fn gradients_match_central_differences() {
        check_layer_gradients::<Relu, 6, 6>(Relu, 3);
        check_layer_gradients::<LeakyRelu, 6, 6>(LeakyRelu::new(0.2), 3);
        check_layer_gradients::<Tanh, 5, 5>(Tanh, 3);
        check_layer_gradients::<Sigmoid, 5, 5>(Sigmoid, 3);
        check_layer_gradients::<Softmax, 4, 4>(Softmax, 3);
        check_layer_gradients::<Softmax, 1, 1>(Softmax, 2);
    }

    #[test]
    fn values_match_the_definitions() {
        // Reference values from Python's math module: tanh(0.5), 1/(1+exp(-0.5)).
        let x = Vector3::<f64>::new(-2.0, 0.0, 0.5);
        assert_eq!(Relu.forward(&x), Vector3::new(0.0, 0.0, 0.5));
        assert_eq!(
            LeakyRelu::default().forward(&x),
            Vector3::new(-0.02, 0.0, 0.5)
        );
        let t = Tanh.forward(&x);
        assert!((t[2] - 0.46211715726000974).abs() < 1e-15);
        let s = Sigmoid.forward(&x);
        assert!((s[2] - 0.6224593312018546).abs() < 1e-15);
        assert_eq!(s[1], 0.5);
    }

    #[test]
    fn softmax_matches_recorded_values() {
        // Python: e = [math.exp(v) for v in (1, 2, 3)]; [v / sum(e) for v in e]
        let p = Softmax.forward(&Vector3::<f64>::new(1.0, 2.0, 3.0));
        let expected = [0.09003057317038046, 0.24472847105479767, 0.6652409557748219];
        for (a, b) in p.iter().zip(expected) {
            assert!((a - b).abs() < 1e-15, "{a} vs {b}");
        }
    }

    #[test]
    fn softmax_and_sigmoid_do_not_overflow() {
        let p = Softmax.forward(&Vector3::new(1000.0_f32, 0.0, -1000.0));
        assert_eq!(p, Vector3::new(1.0, 0.0, 0.0));
        let s = Sigmoid.forward(&Vector3::new(-1000.0_f32, 1000.0, 0.0));
        assert_eq!(s, Vector3::new(0.0, 1.0, 0.5));
    }

    /// Every `step`-th `f32` bit pattern that is a finite number, both signs.
    fn f32_range(step: u32) -> impl Iterator<Item = f32> {
        (0..=u32::MAX / step)
            .map(move |k| f32::from_bits(k * step))
            .filter(|x| x.is_finite())
    }

    /// Regression: ½ + ½·tanh(x/2) was 22% off at x = −15 in `f32` and 0 below −15.8.
    #[test]
    fn sigmoid_keeps_its_relative_accuracy_over_the_whole_f32_range() {
        let mut worst = (0.0f64, 0.0f32);
        for x in f32_range(997).chain((-2000..2000).map(|i| i as f32 / 20.0)) {
            let exact = 1.0 / (1.0 + (-(x as f64)).exp());
            let got = sigmoid(x);
            assert!((0.0..=1.0).contains(&got), "sigmoid({x}) = {got}");
            if exact >= f32::MIN_POSITIVE as f64 {
                let rel = ((got as f64 - exact) / exact).abs();
                if rel > worst.0 {
                    worst = (rel, x);
                }
            } else {
                assert!(
                    (got as f64) < 2.0 * f32::MIN_POSITIVE as f64,
                    "sigmoid({x}) = {got}"
                );
            }
        }
        assert!(
            worst.0 < 2.5e-7,
            "relative error {} at x = {}",
            worst.0,
            worst.1
        );
    }

    /// Regression: the fast tanh returned 1.0000001 at x = 7.9037843.
    #[test]
    fn fast_tanh_stays_within_one_and_close_over_the_whole_f32_range() {
        assert!(7.903_784_3_f32.fast_tanh() <= 1.0);
        // Saturated inputs give exactly ±1.
        for x in [9.0_f32, 12.0, 100.0, f32::MAX, f32::INFINITY] {
            assert_eq!((x.fast_tanh(), (-x).fast_tanh()), (1.0, -1.0), "tanh(±{x})");
        }
        // Every f32 near the clamp, where the rational function comes closest to 1.
        let mut x = 6.0_f32;
        while x < 8.5 {
            assert!(
                x.fast_tanh() <= 1.0 && (-x).fast_tanh() >= -1.0,
                "tanh({x})"
            );
            x = f32::from_bits(x.to_bits() + 1);
        }
        let mut worst = (0.0f64, 0.0f32);
        for x in f32_range(997).chain((-20000..20000).map(|i| i as f32 / 1000.0)) {
            let got = x.fast_tanh();
            assert!(got.abs() <= 1.0, "tanh({x}) = {got}");
            let err = (got as f64 - (x as f64).tanh()).abs();
            if err > worst.0 {
                worst = (err, x);
            }
        }
        assert!(
            worst.0 < 5e-7,
            "absolute error {} at x = {}",
            worst.0,
            worst.1
        );
    }
}
