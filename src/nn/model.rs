//! Networks chosen at run time: [`Model`] (`Box<dyn Model<T, I, O>>` is a [`Layer`]).

use nalgebra::SVector;

use crate::alloc_prelude::*;
use crate::nn::layer::{DynTape, LayerInfo};
use crate::nn::param::{Param, ParamMut, Path, StateOp};
use crate::nn::takes::Takes;
use crate::{base::linalg::Batch, base::scalar::Scalar, nn::layer::Layer};

/// Any network from `I` to `O` values of type `T`, as an object: what lets a program choose
/// its architecture at run time, e.g. from the command line.
///
/// Every [`Layer`] is a `Model` (the methods here are its object-safe forwarding, not meant
/// to be called directly), and `Box<dyn Model<T, I, O>>` is a [`Layer`] again, so a boxed
/// network trains with a [`Trainer`](crate::train::trainer::Trainer), evaluates, saves, loads and prints a
/// [`summary`](crate::nn::summary::summary) like any other. A call through the box costs one dynamic
/// dispatch per pass; the first forward pass allocates the tape.
///
/// # Example
/// ```
/// use constnet::{Net, data::datasets, nn::{Build, Linear, Model, Relu, SoftmaxCrossEntropy, Tanh}, optim::Sgd, train::Trainer};
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
pub trait Model<T: Scalar, const I: usize, const O: usize>: Takes<I> {
    #[doc(hidden)]
    fn dyn_depth(&self) -> usize;
    #[doc(hidden)]
    fn dyn_forward_tape(&self, x: &SVector<T, I>) -> (SVector<T, O>, DynTape);
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
    fn dyn_visit_params(&self, at: &Path<'_>, f: &mut dyn FnMut(Param<'_, T>));
    #[doc(hidden)]
    fn dyn_visit_params_mut(&mut self, at: &Path<'_>, f: &mut dyn FnMut(ParamMut<'_, T>));
    #[doc(hidden)]
    fn dyn_describe(&self, at: &Path<'_>, f: &mut dyn FnMut(LayerInfo));
    #[doc(hidden)]
    fn dyn_visit_state(&mut self, at: &Path<'_>, op: &mut StateOp<'_>);
    #[doc(hidden)]
    #[cfg(feature = "onnx")]
    fn dyn_to_onnx(
        &self,
        at: &Path<'_>,
        graph: &mut crate::nn::onnx::Graph<T>,
    ) -> Result<(), crate::error::Error>;
}

impl<T, N, const I: usize, const O: usize> Model<T, I, O> for N
where
    T: Scalar,
    N: Layer<T, I, O>,
{
    fn dyn_depth(&self) -> usize {
        self.depth()
    }
    fn dyn_forward_tape(&self, x: &SVector<T, I>) -> (SVector<T, O>, DynTape) {
        let (y, tape) = self.forward_tape(x);
        (y, DynTape::new(tape))
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
        self.forward_batch(x, y, tape);
    }
    fn dyn_backward_batch(
        &mut self,
        x: &Batch<T, I>,
        y: &Batch<T, O>,
        dy: &Batch<T, O>,
        dx: Option<&mut Batch<T, I>>,
        tape: &mut DynTape,
    ) {
        self.backward_batch(x, y, dy, dx, tape);
    }
    fn dyn_visit_params(&self, at: &Path<'_>, f: &mut dyn FnMut(Param<'_, T>)) {
        self.visit_params(at, &mut |p| f(p));
    }
    fn dyn_visit_params_mut(&mut self, at: &Path<'_>, f: &mut dyn FnMut(ParamMut<'_, T>)) {
        self.visit_params_mut(at, &mut |p| f(p));
    }
    fn dyn_describe(&self, at: &Path<'_>, f: &mut dyn FnMut(LayerInfo)) {
        self.describe(at, f);
    }
    fn dyn_visit_state(&mut self, at: &Path<'_>, op: &mut StateOp<'_>) {
        self.visit_state(at, op);
    }
    #[cfg(feature = "onnx")]
    fn dyn_to_onnx(
        &self,
        at: &Path<'_>,
        graph: &mut crate::nn::onnx::Graph<T>,
    ) -> Result<(), crate::error::Error> {
        self.to_onnx(at, graph)
    }
}

/// A boxed network takes what the network inside takes.
impl<M: Takes<I> + ?Sized, const I: usize> Takes<I> for Box<M> {}

/// `Box<dyn Model>` (also `+ Send`, `+ Send + Sync`, or any boxed network) is a layer: it
/// forwards every method through the object-safe ones.
impl<T: Scalar, M: Model<T, I, O> + ?Sized, const I: usize, const O: usize> Layer<T, I, O>
    for Box<M>
{
    type Tape = DynTape;

    fn depth(&self) -> usize {
        (**self).dyn_depth()
    }
    fn forward_tape(&self, x: &SVector<T, I>) -> (SVector<T, O>, DynTape) {
        (**self).dyn_forward_tape(x)
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
    fn visit_params<F: FnMut(Param<'_, T>)>(&self, at: &Path<'_>, f: &mut F) {
        (**self).dyn_visit_params(at, f);
    }
    fn visit_params_mut<F: FnMut(ParamMut<'_, T>)>(&mut self, at: &Path<'_>, f: &mut F) {
        (**self).dyn_visit_params_mut(at, f);
    }
    fn describe(&self, at: &Path<'_>, f: &mut dyn FnMut(LayerInfo)) {
        (**self).dyn_describe(at, f);
    }
    fn visit_state(&mut self, at: &Path<'_>, op: &mut StateOp<'_>) {
        (**self).dyn_visit_state(at, op);
    }
    crate::nn::layer::onnx_form! {
        |self, at, g| {
            (**self).dyn_to_onnx(at, g)
        }
    }
}

#[cfg(feature = "std")]
#[cfg(test)]
mod tests {
    use super::*;
    use crate::rand::SeedableRng;
    use crate::rand::rngs::StdRng;
    use crate::{
        data::datasets, io, nn::build::Build, nn::layers::Linear, nn::layers::Relu,
        nn::loss::SoftmaxCrossEntropy, nn::summary::summary, optim::Optimizer, optim::Sgd,
        train::trainer::Trainer,
    };

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
        chained.visit_params(&crate::nn::param::Path::ROOT, &mut |p| {
            names.push(p.full_name().to_string())
        });
        assert_eq!(
            names,
            [
                "0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"
            ]
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
            crate::train::step::train_sample(
                &mut a,
                &SoftmaxCrossEntropy,
                &mut sgd,
                &SVector::from([1.0, 2.0]),
                &1,
            )
            .unwrap();
            crate::train::step::train_sample(
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
