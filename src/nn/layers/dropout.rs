//! Dropout (Srivastava et al., 2014), inverted: in training each value is zeroed with
//! probability `p` and the survivors are scaled by `1/(1 − p)`, so that evaluation, which
//! changes nothing, sees the same expected values.

use core::sync::atomic::{AtomicUsize, Ordering};

use nalgebra::SVector;

use crate::alloc_prelude::*;
use crate::base::linalg::ensure_cols;
use crate::nn::layer::DynTape;
use crate::{
    base::linalg::Batch, base::scalar::Scalar, error::Error, nn::layer::Layer,
    nn::layer::LayerInfo, nn::param::Path, nn::param::StateOp, nn::takes::Takes,
};

/// Inverted dropout on any number of values, with a training and an evaluation mode.
///
/// In training mode ([`Layer::set_training`]; [`Trainer::fit`](crate::train::trainer::Trainer::fit) switches
/// it on for its epochs and off for evaluation and when it returns), every forward pass draws
/// a new mask. The mask of value `u` of sample `j` in the `c`-th training forward pass is a
/// hash of `(seed, c, j, u)`: the same seed gives the same masks, on any number of threads,
/// and a second `fit` goes on with the next masks. In evaluation mode (the default) it is the
/// identity.
///
/// # Example
/// ```
/// use constnet::{Net, nn::{Build, Dropout, Layer, Linear, Relu}};
/// use nalgebra::SVector;
/// use rand::SeedableRng;
///
/// type Mlp = Net![Linear<4, 32>, Relu, Dropout, Linear<32, 3>];
/// let mut net = Mlp::init(&mut rand::rngs::StdRng::seed_from_u64(0));
/// // Net! builds Dropout with p = 0.5; choose another rate on the layer itself.
/// *net.first_mut().second_mut() = Dropout::new(0.2)?.seed(7);
/// let x = SVector::from([1.0, 2.0, 3.0, 4.0]);
/// let eval = net.forward(&x);
/// net.set_training(true);
/// assert_ne!(net.forward(&x), eval); // a mask was drawn
/// net.set_training(false);
/// assert_eq!(net.forward(&x), eval); // the identity again
/// # Ok::<(), constnet::Error>(())
/// ```
#[derive(Debug)]
pub struct Dropout {
    p: f64,
    seed: u64,
    training: bool,
    frozen: bool,
    /// Training forward passes done: the mask stream's position.
    calls: AtomicUsize,
}

impl Clone for Dropout {
    fn clone(&self) -> Self {
        Dropout {
            p: self.p,
            seed: self.seed,
            training: self.training,
            frozen: self.frozen,
            calls: AtomicUsize::new(self.calls.load(Ordering::Relaxed)),
        }
    }
}

impl Default for Dropout {
    /// `p = 0.5`, seed 0, evaluation mode.
    fn default() -> Self {
        Dropout {
            p: 0.5,
            seed: 0,
            training: false,
            frozen: false,
            calls: AtomicUsize::new(0),
        }
    }
}

/// SplitMix64's finaliser: a well-mixed 64-bit hash of `x`.
#[inline]
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl Dropout {
    /// Dropout with probability `p` of zeroing each value, seed 0, in evaluation mode.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] unless `0 ≤ p < 1`.
    pub fn new(p: f64) -> Result<Self, Error> {
        if !(0.0..1.0).contains(&p) {
            return Err(Error::InvalidHyperparameter {
                name: "dropout probability",
                value: p,
                expected: "in [0, 1)",
            });
        }
        Ok(Dropout {
            p,
            ..Dropout::default()
        })
    }

    /// Sets the seed of the masks (and starts their stream over).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self.calls = AtomicUsize::new(0);
        self
    }

    /// One mask for every sample and every pass (it depends on the seed and the value's
    /// position only): for gradient checks, which need the same function at every call.
    pub fn frozen(mut self) -> Self {
        self.frozen = true;
        self
    }

    /// The probability of zeroing a value.
    pub fn p(&self) -> f64 {
        self.p
    }

    /// The seed of the masks.
    pub fn seed_value(&self) -> u64 {
        self.seed
    }

    /// Whether it is in training mode.
    pub fn is_training(&self) -> bool {
        self.training
    }

    /// The mask of this pass, as a function of (sample, value): 0 or `1/(1 − p)`.
    fn mask<T: Scalar>(&self) -> impl Fn(usize, usize) -> T {
        let active = self.training && self.p > 0.0;
        let call = if active && !self.frozen {
            self.calls.fetch_add(1, Ordering::Relaxed) as u64
        } else {
            0
        };
        let frozen = self.frozen;
        let base = mix(self.seed ^ mix(call));
        // Keep a value when its 53-bit uniform draw is at least p.
        let threshold = (self.p * (1u64 << 53) as f64) as u64;
        let keep = T::of(1.0 / (1.0 - self.p));
        move |sample: usize, unit: usize| {
            if !active {
                return T::one();
            }
            let sample = if frozen { 0 } else { sample as u64 };
            let h = mix(base ^ mix(sample.wrapping_mul(0x1_0000_0001) ^ unit as u64 ^ 1 << 63));
            if h >> 11 >= threshold {
                keep
            } else {
                T::zero()
            }
        }
    }
}

impl<const N: usize> Takes<N> for Dropout {}

/// The mask of a one-sample pass: 0 or `1/(1 − p)` per value.
#[derive(Debug, Clone)]
pub struct DropoutTape<T: Scalar, const N: usize>(SVector<T, N>);

impl<T: Scalar, const N: usize> Layer<T, N, N> for Dropout {
    type Tape = DropoutTape<T, N>;

    fn visit_params<F: FnMut(crate::nn::param::Param<'_, T>)>(&self, _: &Path<'_>, _: &mut F) {}

    fn visit_params_mut<F: FnMut(crate::nn::param::ParamMut<'_, T>)>(
        &mut self,
        _: &Path<'_>,
        _: &mut F,
    ) {
    }

    fn forward_tape(&self, x: &SVector<T, N>) -> (SVector<T, N>, DropoutTape<T, N>) {
        let mask = self.mask::<T>();
        let tape = DropoutTape(SVector::from_fn(|u, _| mask(0, u)));
        (x.component_mul(&tape.0), tape)
    }

    fn backward(
        &mut self,
        _x: &SVector<T, N>,
        _y: &SVector<T, N>,
        dy: &SVector<T, N>,
        tape: &DropoutTape<T, N>,
    ) -> SVector<T, N> {
        dy.component_mul(&tape.0)
    }

    /// The tape keeps the masks of the pass, one column per sample.
    fn forward_batch(&self, x: &Batch<T, N>, y: &mut Batch<T, N>, tape: &mut DynTape) {
        let tape = tape.get_mut::<Batch<T, N>>();
        let mask = self.mask::<T>();
        ensure_cols(tape, x.ncols());
        ensure_cols(y, x.ncols());
        for (j, column) in tape.as_mut_slice().chunks_exact_mut(N).enumerate() {
            for (u, m) in column.iter_mut().enumerate() {
                *m = mask(j, u);
            }
        }
        y.as_mut_slice().copy_from_slice(x.as_slice());
        y.component_mul_assign(tape);
    }

    fn backward_batch(
        &mut self,
        _x: &Batch<T, N>,
        _y: &Batch<T, N>,
        dy: &Batch<T, N>,
        dx: Option<&mut Batch<T, N>>,
        tape: &mut DynTape,
    ) {
        if let Some(dx) = dx {
            ensure_cols(dx, dy.ncols());
            dx.as_mut_slice().copy_from_slice(dy.as_slice());
            dx.component_mul_assign(tape.get::<Batch<T, N>>());
        }
    }

    /// The training switch, and the mask stream's position, saved as `k.calls`.
    fn visit_state(&mut self, at: &Path<'_>, op: &mut StateOp<'_>) {
        match op {
            StateOp::Train(on) => self.training = *on,
            StateOp::Save(f) => f(format!("{at}.calls"), *self.calls.get_mut() as u64),
            StateOp::Load(f) => {
                if let Some(calls) = f(&format!("{at}.calls")) {
                    *self.calls.get_mut() = calls as usize;
                }
            }
        }
    }

    fn describe(&self, at: &Path<'_>, f: &mut dyn FnMut(LayerInfo)) {
        f(LayerInfo {
            position: at.top(),
            name: format!("Dropout(p={})", self.p),
            inputs: N,
            outputs: N,
            params: 0,
            input_dims: Vec::new(),
            output_dims: Vec::new(),
        });
    }

    // ONNX: nothing: in inference a dropout layer passes its input through.
    crate::nn::layer::onnx_form! {
        |self, at, graph| {
            let _ = (at, graph);
            Ok(())
        }
    }
}

#[cfg(feature = "std")]
#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::gradcheck::check_layer;

    fn training(p: f64, seed: u64) -> Dropout {
        let mut d = Dropout::new(p).unwrap().seed(seed);
        Layer::<f64, 1, 1>::set_training(&mut d, true);
        d
    }

    #[test]
    fn evaluation_mode_is_the_identity() {
        let d = Dropout::new(0.9).unwrap();
        let x = SVector::<f64, 4>::from([1.0, -2.0, 3.0, 4.0]);
        assert_eq!(d.forward(&x), x);
        let xb = Batch::<f64, 4>::from_column_slice(&[1.0; 8]);
        assert_eq!(d.predict_batch(&xb), xb);
    }

    #[test]
    fn training_drops_about_p_and_keeps_the_mean() {
        let d = training(0.3, 1);
        let x = Batch::<f64, 100>::from_element(200, 1.0);
        let y = d.predict_batch(&x);
        let zeros = y.iter().filter(|&&v| v == 0.0).count() as f64 / 20_000.0;
        assert!((zeros - 0.3).abs() < 0.02, "dropped {zeros}");
        let mean = y.iter().sum::<f64>() / 20_000.0;
        assert!((mean - 1.0).abs() < 0.03, "mean {mean}");
        assert!(y.iter().all(|&v| v == 0.0 || (v - 1.0 / 0.7).abs() < 1e-15));
        // The next pass draws another mask; the same seed the same stream.
        let again = d.predict_batch(&x);
        assert_ne!(y, again);
        let replay = training(0.3, 1);
        assert_eq!(replay.predict_batch(&x), y);
        assert_eq!(replay.predict_batch(&x), again);
        assert_ne!(training(0.3, 2).predict_batch(&x), y);
    }

    #[test]
    fn the_gradient_passes_through_the_mask() {
        // A fixed mask makes the layer one function of its input: central differences apply.
        let frozen = training(0.5, 3).frozen();
        check_layer::<_, 8, 8>(frozen, 4, 1).unwrap();
        // Backward uses the very mask of the forward pass.
        let mut d = training(0.5, 4);
        let x = SVector::<f64, 16>::repeat(1.0);
        let (y, tape) = d.forward_tape(&x);
        let dx = d.backward(&x, &y, &SVector::repeat(1.0), &tape);
        assert_eq!(dx, y, "∂y/∂x is the mask, and so is y for x = 1");
    }

    #[test]
    fn p_outside_zero_one_is_refused() {
        for p in [-0.1, 1.0, f64::NAN] {
            assert!(Dropout::new(p).is_err(), "{p}");
        }
        let zero = training(0.0, 0);
        let x = SVector::<f64, 3>::from([1.0, 2.0, 3.0]);
        assert_eq!(zero.forward(&x), x);
    }
}
