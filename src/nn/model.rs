//! Networks and optimizers chosen at run time: [`Model`] (`Box<dyn Model<T, I, O>>` is a
//! [`Layer`]) and `Box<dyn Optimizer<T>>` (an [`Optimizer`]).

use core::any::Any;

use nalgebra::SVector;

use crate::nn::layer::{LayerInfo, Param, ParamMut, Takes};
use crate::prelude::*;
use crate::{Batch, Layer, Optimizer, Scalar};

/// The tape of a [`Model`] behind a `Box`: the concrete network's tape, allocated on the
/// first forward pass and reused after that.
#[derive(Default)]
pub struct DynTape(Option<Box<dyn Any>>);

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
    /// The tape as `Tp`, replacing whatever it held if that was of another type.
    fn get_mut<Tp: Default + 'static>(&mut self) -> &mut Tp {
        if !self.0.as_ref().is_some_and(|t| t.is::<Tp>()) {
            self.0 = Some(Box::new(Tp::default()));
        }
        self.0
            .as_mut()
            .and_then(|t| t.downcast_mut())
            .expect("just made to hold a Tp")
    }

    /// The tape as `Tp`.
    ///
    /// # Panics
    /// If no forward pass of this network recorded it (a caller bug: backward needs the
    /// tape of a forward pass).
    fn get<Tp: 'static>(&self) -> &Tp {
        self.0
            .as_ref()
            .and_then(|t| t.downcast_ref())
            .expect("a backward pass needs the tape of a forward pass of the same network")
    }
}

/// Any network from `I` to `O` values of type `T`, as an object: what lets a program choose
/// its architecture at run time, e.g. from the command line.
///
/// Every [`Layer`] is a `Model` (the methods here are its object-safe forwarding, not meant
/// to be called directly), and `Box<dyn Model<T, I, O>>` is a [`Layer`] again, so a boxed
/// network trains with a [`Trainer`](crate::Trainer), evaluates, saves, loads and prints a
/// [`summary`](crate::summary) like any other. A call through the box costs one dynamic
/// dispatch per pass; the first forward pass allocates the tape.
///
/// # Example
/// ```
/// use constnet::{Build, Linear, Model, Net, Relu, Tanh, Trainer, Sgd, SoftmaxCrossEntropy, datasets};
/// use constnet::rand::{SeedableRng, rngs::StdRng};
///
/// fn network(hidden: &str, rng: &mut StdRng) -> Box<dyn Model<f32, 2, 2>> {
///     match hidden {
///         "relu" => Box::new(<Net![Linear<2, 16>, Relu, Linear<16, 2>]>::init(rng)),
///         "tanh" => Box::new(<Net![Linear<2, 8>, Tanh, Linear<8, 2>]>::init(rng)),
///         _ => Box::new(Linear::<2, 2>::init(rng)),
///     }
/// }
///
/// let mut net = network("relu", &mut StdRng::seed_from_u64(0));
/// let history = Trainer::new(SoftmaxCrossEntropy, Sgd::new(0.1)?)
///     .epochs(5)
///     .fit(&mut net, &datasets::xor(), None, &mut ())?;
/// assert_eq!(history.len(), 5);
/// # Ok::<(), constnet::Error>(())
/// ```
pub trait Model<T: Scalar, const I: usize, const O: usize> {
    #[doc(hidden)]
    fn dyn_depth(&self) -> usize;
    #[doc(hidden)]
    fn dyn_forward_tape(&self, x: &SVector<T, I>, tape: &mut DynTape) -> SVector<T, O>;
    #[doc(hidden)]
    fn dyn_backward(
        &mut self,
        x: &SVector<T, I>,
        y: &SVector<T, O>,
        dy: &SVector<T, O>,
        tape: &DynTape,
    ) -> SVector<T, I>;
    #[doc(hidden)]
    fn dyn_forward_batch(&self, x: &Batch<T, I>, y: &mut Batch<T, O>, tape: &mut DynTape);
    #[doc(hidden)]
    fn dyn_backward_batch(
        &mut self,
        x: &Batch<T, I>,
        y: &Batch<T, O>,
        dy: &Batch<T, O>,
        dx: Option<&mut Batch<T, I>>,
        tape: &mut DynTape,
    );
    #[doc(hidden)]
    fn dyn_visit_params(&self, first_layer: usize, f: &mut dyn FnMut(Param<'_, T>));
    #[doc(hidden)]
    fn dyn_visit_params_mut(&mut self, first_layer: usize, f: &mut dyn FnMut(ParamMut<'_, T>));
    #[doc(hidden)]
    fn dyn_describe(&self, first_layer: usize, f: &mut dyn FnMut(LayerInfo));
    #[doc(hidden)]
    fn dyn_set_training(&mut self, training: bool);
}

impl<T, N, const I: usize, const O: usize> Model<T, I, O> for N
where
    T: Scalar,
    N: Layer<T, I, O>,
    N::Tape: 'static,
    N::BatchTape: 'static,
{
    fn dyn_depth(&self) -> usize {
        self.depth()
    }
    fn dyn_forward_tape(&self, x: &SVector<T, I>, tape: &mut DynTape) -> SVector<T, O> {
        self.forward_tape(x, tape.get_mut())
    }
    fn dyn_backward(
        &mut self,
        x: &SVector<T, I>,
        y: &SVector<T, O>,
        dy: &SVector<T, O>,
        tape: &DynTape,
    ) -> SVector<T, I> {
        self.backward(x, y, dy, tape.get())
    }
    fn dyn_forward_batch(&self, x: &Batch<T, I>, y: &mut Batch<T, O>, tape: &mut DynTape) {
        self.forward_batch(x, y, tape.get_mut());
    }
    fn dyn_backward_batch(
        &mut self,
        x: &Batch<T, I>,
        y: &Batch<T, O>,
        dy: &Batch<T, O>,
        dx: Option<&mut Batch<T, I>>,
        tape: &mut DynTape,
    ) {
        self.backward_batch(x, y, dy, dx, tape.get_mut());
    }
    fn dyn_visit_params(&self, first_layer: usize, f: &mut dyn FnMut(Param<'_, T>)) {
        self.visit_params(first_layer, &mut |p| f(p));
    }
    fn dyn_visit_params_mut(&mut self, first_layer: usize, f: &mut dyn FnMut(ParamMut<'_, T>)) {
        self.visit_params_mut(first_layer, &mut |p| f(p));
    }
    fn dyn_describe(&self, first_layer: usize, f: &mut dyn FnMut(LayerInfo)) {
        self.describe(first_layer, f);
    }
    fn dyn_set_training(&mut self, training: bool) {
        self.set_training(training);
    }
}

/// `Box<dyn Model>` (also `+ Send`, `+ Send + Sync`) is a layer: it forwards every method.
macro_rules! boxed_model_layer {
    ($($extra:tt)*) => {
        impl<T: Scalar, const I: usize, const O: usize> Takes<I>
            for Box<dyn Model<T, I, O> $($extra)* + '_>
        {
        }

        impl<T: Scalar, const I: usize, const O: usize> Layer<T, I, O>
            for Box<dyn Model<T, I, O> $($extra)* + '_>
        {
            type Tape = DynTape;
            type BatchTape = DynTape;

            fn depth(&self) -> usize {
                (**self).dyn_depth()
            }
            fn forward_tape(&self, x: &SVector<T, I>, tape: &mut DynTape) -> SVector<T, O> {
                (**self).dyn_forward_tape(x, tape)
            }
            fn backward(
                &mut self,
                x: &SVector<T, I>,
                y: &SVector<T, O>,
                dy: &SVector<T, O>,
                tape: &DynTape,
            ) -> SVector<T, I> {
                (**self).dyn_backward(x, y, dy, tape)
            }
            fn forward_batch(&self, x: &Batch<T, I>, y: &mut Batch<T, O>, tape: &mut DynTape) {
                (**self).dyn_forward_batch(x, y, tape);
            }
            fn backward_batch(
                &mut self,
                x: &Batch<T, I>,
                y: &Batch<T, O>,
                dy: &Batch<T, O>,
                dx: Option<&mut Batch<T, I>>,
                tape: &mut DynTape,
            ) {
                (**self).dyn_backward_batch(x, y, dy, dx, tape);
            }
            fn visit_params<F: FnMut(Param<'_, T>)>(&self, first_layer: usize, f: &mut F) {
                (**self).dyn_visit_params(first_layer, f);
            }
            fn visit_params_mut<F: FnMut(ParamMut<'_, T>)>(
                &mut self,
                first_layer: usize,
                f: &mut F,
            ) {
                (**self).dyn_visit_params_mut(first_layer, f);
            }
            fn describe(&self, first_layer: usize, f: &mut dyn FnMut(LayerInfo)) {
                (**self).dyn_describe(first_layer, f);
            }
            fn set_training(&mut self, training: bool) {
                (**self).dyn_set_training(training);
            }
        }
    };
}

boxed_model_layer!();
boxed_model_layer!(+ Send);
boxed_model_layer!(+ Send + Sync);

/// An optimizer chosen at run time: `Box<dyn Optimizer<T>>` works wherever an optimizer does.
///
/// # Example
/// ```
/// use constnet::{Adam, Optimizer, Sgd};
/// fn optimizer(name: &str, lr: f64) -> Result<Box<dyn Optimizer<f32>>, constnet::Error> {
///     Ok(match name {
///         "adam" => Box::new(Adam::new(lr)?),
///         "momentum" => Box::new(Sgd::new(lr)?.momentum(0.9)?),
///         _ => Box::new(Sgd::new(lr)?),
///     })
/// }
/// assert_eq!(optimizer("adam", 0.01)?.learning_rate(), 0.01);
/// # Ok::<(), constnet::Error>(())
/// ```
impl<T: Scalar, Opt: Optimizer<T> + ?Sized> Optimizer<T> for Box<Opt> {
    fn begin_step(&mut self) {
        (**self).begin_step();
    }
    fn update(&mut self, slot: usize, param: ParamMut<'_, T>) {
        (**self).update(slot, param);
    }
    fn learning_rate(&self) -> f64 {
        (**self).learning_rate()
    }
    fn set_learning_rate(&mut self, lr: f64) -> Result<(), crate::Error> {
        (**self).set_learning_rate(lr)
    }
    fn weight_decay(&self) -> f64 {
        (**self).weight_decay()
    }
    fn reset(&mut self) {
        (**self).reset();
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use crate::rand::SeedableRng;
    use crate::rand::rngs::StdRng;
    use crate::{Build, Linear, Relu, Sgd, SoftmaxCrossEntropy, Trainer, datasets, io, summary};

    type Small = crate::Net![Linear<2, 6>, Relu, Linear<6, 2>];

    #[test]
    fn a_boxed_network_trains_saves_and_loads_exactly_as_the_static_one() {
        let data = datasets::two_moons::<f32>(64, 0.1, 2);
        let mut fixed = Small::init(&mut StdRng::seed_from_u64(3));
        let mut boxed: Box<dyn Model<f32, 2, 2>> =
            Box::new(Small::init(&mut StdRng::seed_from_u64(3)));
        let trainer = || Trainer::new(SoftmaxCrossEntropy, Sgd::new(0.1).unwrap()).epochs(3);
        let a = trainer()
            .fit(&mut fixed, &data, Some(&data), &mut ())
            .unwrap();
        let b = trainer()
            .fit(&mut boxed, &data, Some(&data), &mut ())
            .unwrap();
        assert_eq!(a.last().unwrap().validation, b.last().unwrap().validation);
        let x = SVector::from([0.3, -0.1]);
        assert_eq!(fixed.forward(&x), boxed.forward(&x));
        assert_eq!(
            fixed.predict_batch(data.features()),
            boxed.predict_batch(data.features())
        );
        assert_eq!(summary(&fixed), summary(&boxed));
        assert_eq!(boxed.depth(), 3);

        let path = crate::io::fs::test_dir("model-io").join("boxed.safetensors");
        io::save_safetensors(&boxed, &path).unwrap();
        let mut loaded = Small::zeros();
        io::load_safetensors(&mut loaded, &path).unwrap();
        assert_eq!(loaded.forward(&x), fixed.forward(&x));
        // Inside a chain, the boxed layers keep PyTorch's positions.
        let chained = boxed.then(Relu).then(Linear::<2, 1>::zeros());
        let mut names = Vec::new();
        chained.visit_params(0, &mut |p| names.push((p.layer, p.kind)));
        assert_eq!(
            names.iter().map(|n| n.0).collect::<Vec<_>>(),
            [0, 0, 2, 2, 4, 4]
        );
    }

    #[test]
    fn a_boxed_optimizer_steps_as_the_optimizer_inside() {
        let mut a = Small::init(&mut StdRng::seed_from_u64(4));
        let mut b = Small::init(&mut StdRng::seed_from_u64(4));
        let mut sgd = Sgd::new(0.1).unwrap().momentum(0.9).unwrap();
        let mut boxed: Box<dyn Optimizer<f32>> =
            Box::new(Sgd::new(0.1).unwrap().momentum(0.9).unwrap());
        for _ in 0..3 {
            crate::train_sample(
                &mut a,
                &SoftmaxCrossEntropy,
                &mut sgd,
                &SVector::from([1.0, 2.0]),
                &1,
            )
            .unwrap();
            crate::train_sample(
                &mut b,
                &SoftmaxCrossEntropy,
                &mut boxed,
                &SVector::from([1.0, 2.0]),
                &1,
            )
            .unwrap();
        }
        let x = SVector::from([0.5, 0.5]);
        assert_eq!(a.forward(&x), b.forward(&x));
    }
}
