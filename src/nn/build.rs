//! Networks named by their type ([`Net!`](crate::Net)) and built from it ([`Build`]).

use rand::Rng;
use rand::SeedableRng;

use crate::nn::chain::Chain;
use crate::nn::layers::{
    AvgPool1d, AvgPool2d, BatchNorm, Conv1d, Conv2d, Flatten, LayerNorm, MaxPool1d, MaxPool2d,
    Residual,
};
use crate::nn::takes::Takes;
use crate::{
    base::scalar::Scalar, nn::init::Init, nn::layers::Dropout, nn::layers::Elementwise,
    nn::layers::LeakyRelu, nn::layers::Linear, nn::layers::Relu, nn::layers::Sigmoid,
    nn::layers::Softmax, nn::layers::Tanh,
};

/// A layer or network that can be built from its type alone, so that every size is written
/// once, in the type.
///
/// The default initialisation ([`Build::init`]) chooses per [`Linear`] layer from what
/// follows it: He (Kaiming) normal before a rectifier ([`Relu`], [`LeakyRelu`]), Glorot
/// (Xavier) uniform before anything else (a saturating activation, another linear layer, or
/// the output). Biases start at zero. The draws come from `rng` layer by layer, first to
/// last, so a seed gives the same network as building it layer by layer with
/// [`Linear::new`] and the same schemes.
///
/// # Example
/// ```
/// use constnet::{Net, nn::{Build, Init, Layer, Linear, Relu}};
/// use constnet::rand::{SeedableRng, rngs::StdRng};
///
/// type Mlp<const H: usize> = Net![Linear<4, H>, Relu, Linear<H, 3>];
///
/// let net = Mlp::<16>::init(&mut StdRng::seed_from_u64(0));      // He, then Glorot
/// let lecun = Mlp::<16>::init_with(Init::LecunNormal, &mut StdRng::seed_from_u64(0));
/// let blank = Mlp::<16>::zeros();
/// assert_eq!(net.num_params(), 4 * 16 + 16 + 16 * 3 + 3);
/// assert_ne!(net.first().first().weight(), lecun.first().first().weight());
/// assert!(blank.second().weight().iter().all(|&w| w == 0.0));
/// ```
pub trait Build: Sized {
    /// Whether this layer is a rectifier (ReLU-like), so that a [`Linear`] layer before it
    /// starts from He initialisation. For a chain, whether its first layer is.
    const RECTIFIER: bool = false;

    /// Builds the layer with weights from `rng`: by `init` if given, else by the default rule
    /// (He when `before_rectifier`, Glorot otherwise).
    fn build<R: Rng + ?Sized>(rng: &mut R, init: Option<Init>, before_rectifier: bool) -> Self;

    /// Builds with the default initialisation (see the trait's docs).
    fn init<R: Rng + ?Sized>(rng: &mut R) -> Self {
        Self::build(rng, None, false)
    }

    /// Builds with `init` for every weight matrix, overriding the default rule.
    fn init_with<R: Rng + ?Sized>(init: Init, rng: &mut R) -> Self {
        Self::build(rng, Some(init), false)
    }

    /// Builds with every weight and bias zero.
    fn zeros() -> Self {
        Self::build(
            &mut rand::rngs::SmallRng::seed_from_u64(0),
            Some(Init::Zeros),
            false,
        )
    }
}

impl<const I: usize, const O: usize, T: Scalar> Build for Linear<I, O, T> {
    fn build<R: Rng + ?Sized>(rng: &mut R, init: Option<Init>, before_rectifier: bool) -> Self {
        Linear::new(init.unwrap_or(default_init(before_rectifier)), rng)
    }
}

impl<A: Build, B: Build + Takes<M>, const M: usize> Build for Chain<A, B, M> {
    const RECTIFIER: bool = A::RECTIFIER;

    fn build<R: Rng + ?Sized>(rng: &mut R, init: Option<Init>, before_rectifier: bool) -> Self {
        let first = A::build(rng, init, B::RECTIFIER);
        Chain::new(first, B::build(rng, init, before_rectifier))
    }
}

impl<
    const C: usize,
    const F: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const H: usize,
    const W: usize,
    const I: usize,
    const O: usize,
    const B: bool,
    T: Scalar,
> Build for Conv2d<C, F, K, S, P, H, W, I, O, B, T>
{
    fn build<R: Rng + ?Sized>(rng: &mut R, init: Option<Init>, before_rectifier: bool) -> Self {
        Conv2d::new(init.unwrap_or(default_init(before_rectifier)), rng)
    }
}

impl<
    const C: usize,
    const F: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const L: usize,
    const I: usize,
    const O: usize,
    const B: bool,
    T: Scalar,
> Build for Conv1d<C, F, K, S, P, L, I, O, B, T>
{
    fn build<R: Rng + ?Sized>(rng: &mut R, init: Option<Init>, before_rectifier: bool) -> Self {
        Conv1d::new(init.unwrap_or(default_init(before_rectifier)), rng)
    }
}

impl<const C: usize, const N: usize, T: Scalar> Build for BatchNorm<C, N, T> {
    fn build<R: Rng + ?Sized>(_: &mut R, _: Option<Init>, _: bool) -> Self {
        BatchNorm::new()
    }
}

impl<const N: usize, T: Scalar> Build for LayerNorm<N, T> {
    fn build<R: Rng + ?Sized>(_: &mut R, _: Option<Init>, _: bool) -> Self {
        LayerNorm::new()
    }
}

/// The inner layers are built as a network of their own (a chain's layers before a
/// rectifier start from He).
impl<L: Build> Build for Residual<L> {
    fn build<R: Rng + ?Sized>(rng: &mut R, init: Option<Init>, before_rectifier: bool) -> Self {
        Residual::new(L::build(rng, init, before_rectifier))
    }
}

/// He before a rectifier, Glorot otherwise.
fn default_init(before_rectifier: bool) -> Init {
    if before_rectifier {
        Init::HeNormal
    } else {
        Init::XavierUniform
    }
}

/// Pooling: nothing to draw.
macro_rules! build_pool {
    ($($name:ident [$($params:tt)*] [$($args:tt)*]),* $(,)?) => {$(
        impl<$($params)*> Build for $name<$($args)*> {
            fn build<R: Rng + ?Sized>(_: &mut R, _: Option<Init>, _: bool) -> Self {
                $name
            }
        }
    )*};
}

build_pool!(
    MaxPool2d [const K: usize, const S: usize, const H: usize, const W: usize, const I: usize, const O: usize] [K, S, H, W, I, O],
    AvgPool2d [const K: usize, const S: usize, const H: usize, const W: usize, const I: usize, const O: usize] [K, S, H, W, I, O],
    MaxPool1d [const K: usize, const S: usize, const L: usize, const I: usize, const O: usize] [K, S, L, I, O],
    AvgPool1d [const K: usize, const S: usize, const L: usize, const I: usize, const O: usize] [K, S, L, I, O],
);

/// Activations: built as their `Default`; rectifiers say so.
macro_rules! build_activation {
    ($($ty:ty => $rectifier:expr),* $(,)?) => {$(
        impl Build for $ty {
            const RECTIFIER: bool = $rectifier;
            fn build<R: Rng + ?Sized>(_: &mut R, _: Option<Init>, _: bool) -> Self {
                Self::default()
            }
        }
    )*};
}

build_activation!(
    Relu => true, LeakyRelu => true, Tanh => false, Sigmoid => false, Softmax => false,
    Dropout => false, Flatten => false,
);

impl<A: Default> Build for Elementwise<A> {
    fn build<R: Rng + ?Sized>(_: &mut R, _: Option<Init>, _: bool) -> Self {
        Elementwise(A::default())
    }
}

/// A network type in one line, in layer order, each size written once:
/// `Net![Linear<784, 128>, Relu, Linear<128, 10>]`.
///
/// It is the type that [`seq!`](crate::seq) or [`Layer::then`](crate::nn::layer::Layer::then) build from
/// the same layers (a left-nested [`Chain`]), usable as a type alias (also with const
/// parameters), a struct field, or a return type, and buildable with [`Build`].
///
/// - `Linear<I, O>` (or `Linear<I, O, f64>`) gives `O` outputs.
/// - Any other layer keeps the size (activations, or a layer of your own that does).
/// - A layer of your own that changes the size says so: `MyLayer<4> => 8`. The first layer
///   must have a known size: a `Linear`, or any layer with `=> N`.
///
/// A layer that does not take the outputs of the one before is a compile error naming it:
/// "`Linear<100, 10>` cannot take 128 inputs".
///
/// # Example
/// ```
/// use constnet::{Net, nn::{Build, Layer, Linear, Relu, Tanh}};
/// use constnet::rand::{SeedableRng, rngs::StdRng};
///
/// type Classifier<const H: usize> = Net![Linear<4, H>, Tanh, Linear<H, H>, Relu, Linear<H, 3>];
///
/// struct App {
///     net: Classifier<16>,
/// }
///
/// fn make(seed: u64) -> Classifier<16> {
///     Classifier::init(&mut StdRng::seed_from_u64(seed))
/// }
///
/// let app = App { net: make(1) };
/// assert_eq!(app.net.depth(), 5);
/// ```
#[macro_export]
macro_rules! Net {
    [$($layers:tt)+] => { $crate::__net!(@first $($layers)+) };
}

/// The muncher behind [`Net!`]: `[type so far] [its output size, or ?]` then the layers left.
#[doc(hidden)]
#[macro_export]
macro_rules! __net {
    // A network that starts with its input shape: every size after it is worked out and
    // checked by `Stage`s (see `nn::shape`).
    (@first Input < $c:tt , $h:tt , $w:tt $(; $t:ty)? > $(, $($rest:tt)*)?) => {
        $crate::__net!(@s [] [$crate::nn::shape::Stage::input2d($c, $h, $w)] [$($t)?] $($($rest)*)?)
    };
    (@first Input < $c:tt , $l:tt $(; $t:ty)? > $(, $($rest:tt)*)?) => {
        $crate::__net!(@s [] [$crate::nn::shape::Stage::input1d($c, $l)] [$($t)?] $($($rest)*)?)
    };
    (@first Input < $n:tt $(; $t:ty)? > $(, $($rest:tt)*)?) => {
        $crate::__net!(@s [] [$crate::nn::shape::Stage::input($n)] [$($t)?] $($($rest)*)?)
    };
    // The first layer: its output size must be known.
    (@first $(constnet ::)? Linear < $i:tt , $o:tt $(, $t:ty)? > $(, $($rest:tt)*)?) => {
        $crate::__net!(@next [Linear<$i, $o $(, $t)?>] [$o] $($($rest)*)?)
    };
    (@first $layer:ty => $o:tt $(, $($rest:tt)*)?) => {
        $crate::__net!(@next [$layer] [$o] $($($rest)*)?)
    };
    (@first $(constnet ::)? $(nn ::)? $conv:ident < $($rest:tt)*) => {
        $crate::__net!(@needs_input $conv)
    };
    (@first $layer:ty $(, $($rest:tt)*)?) => {
        ::core::compile_error!(
            "Net![...]: the first layer must say its size: `Linear<I, O>`, or `MyLayer => O`"
        )
    };

    // Done.
    (@next [$net:ty] [$m:tt]) => { $net };

    // A residual block: it keeps the size, which its inner layers must end with.
    (@next [$net:ty] [$m:tt] $(constnet ::)? $(nn ::)? Residual < Net ! [ $($inner:tt)* ] > $(, $($rest:tt)*)?) => {
        $crate::__net!(@next
            [$crate::nn::Chain<$net, $crate::nn::Residual<$crate::Net![$($inner)*]>,
                { $crate::nn::shape::residual($m, $crate::__net!(@out [$m] $($inner)*)) }>]
            [$m] $($($rest)*)?)
    };
    // A linear layer: the chain's middle size is the output before it.
    (@next [$net:ty] [$m:tt] $(constnet ::)? Linear < $i:tt , $o:tt $(, $t:ty)? > $(, $($rest:tt)*)?) => {
        $crate::__net!(@next [$crate::nn::Chain<$net, Linear<$i, $o $(, $t)?>, $m>] [$o] $($($rest)*)?)
    };
    // A layer that says its output size.
    (@next [$net:ty] [$m:tt] $layer:ty => $o:tt $(, $($rest:tt)*)?) => {
        $crate::__net!(@next [$crate::nn::Chain<$net, $layer, $m>] [$o] $($($rest)*)?)
    };
    // Any other layer keeps the size.
    (@next [$net:ty] [$m:tt] $layer:ty $(, $($rest:tt)*)?) => {
        $crate::__net!(@next [$crate::nn::Chain<$net, $layer, $m>] [$m] $($($rest)*)?)
    };

    // A convolution or pooling layer first, without the input's shape.
    (@needs_input Conv2d) => { $crate::__net!(@input_error) };
    (@needs_input Conv1d) => { $crate::__net!(@input_error) };
    (@needs_input MaxPool2d) => { $crate::__net!(@input_error) };
    (@needs_input AvgPool2d) => { $crate::__net!(@input_error) };
    (@needs_input MaxPool1d) => { $crate::__net!(@input_error) };
    (@needs_input AvgPool1d) => { $crate::__net!(@input_error) };
    (@needs_input $other:ident) => {
        ::core::compile_error!(
            "Net![...]: the first layer must say its size: `Linear<I, O>`, or `MyLayer => O`"
        )
    };
    (@input_error) => {
        ::core::compile_error!(
            "Net![...]: a convolutional network starts with the shape of its input: \
             `Input<C, H, W>` for images, `Input<C, L>` for signals"
        )
    };

    // Shapes followed by stages: `@s [network so far, if any] [stage] [scalar, if any]`.
    (@s [$($net:ty)?] [$st:expr] [$($t:ty)?]) => { $($net)? };
    (@s [$($net:ty)?] [$st:expr] [$($t:ty)?] $(constnet ::)? $(nn ::)? Conv2d < $c:tt , $f:tt , $k:tt $(, $s:tt $(, $p:tt $(, $b:tt)?)?)? > $(, $($rest:tt)*)?) => {
        $crate::__net!(@conv Conv2d 2 [$($net)?]
            [$crate::nn::shape::Stage::conv($st, 2, $c, $f, $k, $crate::__net!(@or [$($s)?] 1), $crate::__net!(@or [$($($p)?)?] 0))]
            [$c, $f, $k, { $crate::__net!(@or [$($s)?] 1) }, { $crate::__net!(@or [$($($p)?)?] 0) }]
            [$crate::__net!(@or [$($($($b)?)?)?] true)] [$($t)?] $($($rest)*)?)
    };
    (@s [$($net:ty)?] [$st:expr] [$($t:ty)?] $(constnet ::)? $(nn ::)? Conv1d < $c:tt , $f:tt , $k:tt $(, $s:tt $(, $p:tt $(, $b:tt)?)?)? > $(, $($rest:tt)*)?) => {
        $crate::__net!(@conv Conv1d 1 [$($net)?]
            [$crate::nn::shape::Stage::conv($st, 1, $c, $f, $k, $crate::__net!(@or [$($s)?] 1), $crate::__net!(@or [$($($p)?)?] 0))]
            [$c, $f, $k, { $crate::__net!(@or [$($s)?] 1) }, { $crate::__net!(@or [$($($p)?)?] 0) }]
            [$crate::__net!(@or [$($($($b)?)?)?] true)] [$($t)?] $($($rest)*)?)
    };
    (@s [$($net:ty)?] [$st:expr] [$($t:ty)?] $(constnet ::)? $(nn ::)? MaxPool2d < $k:tt $(, $s:tt)? > $(, $($rest:tt)*)?) => {
        $crate::__net!(@pool MaxPool2d 2 true [$($net)?] [$st] [$k, { $crate::__net!(@or [$($s)?] $k) }] [$($t)?] $($($rest)*)?)
    };
    (@s [$($net:ty)?] [$st:expr] [$($t:ty)?] $(constnet ::)? $(nn ::)? AvgPool2d < $k:tt $(, $s:tt)? > $(, $($rest:tt)*)?) => {
        $crate::__net!(@pool AvgPool2d 2 false [$($net)?] [$st] [$k, { $crate::__net!(@or [$($s)?] $k) }] [$($t)?] $($($rest)*)?)
    };
    (@s [$($net:ty)?] [$st:expr] [$($t:ty)?] $(constnet ::)? $(nn ::)? MaxPool1d < $k:tt $(, $s:tt)? > $(, $($rest:tt)*)?) => {
        $crate::__net!(@pool MaxPool1d 1 true [$($net)?] [$st] [$k, { $crate::__net!(@or [$($s)?] $k) }] [$($t)?] $($($rest)*)?)
    };
    (@s [$($net:ty)?] [$st:expr] [$($t:ty)?] $(constnet ::)? $(nn ::)? AvgPool1d < $k:tt $(, $s:tt)? > $(, $($rest:tt)*)?) => {
        $crate::__net!(@pool AvgPool1d 1 false [$($net)?] [$st] [$k, { $crate::__net!(@or [$($s)?] $k) }] [$($t)?] $($($rest)*)?)
    };
    (@s [$($net:ty)?] [$st:expr] [$($t:ty)?] $(constnet ::)? $(nn ::)? BatchNorm2d < $c:tt > $(, $($rest:tt)*)?) => {
        $crate::__net!(@s
            [$crate::__net!(@link [$($net)?]
                $crate::nn::BatchNorm2d<$c, { $crate::nn::shape::Stage::batch_norm($st, $c).check().in_len() } $(, $t)?>,
                { $st.len() })]
            [$crate::nn::shape::Stage::batch_norm($st, $c)] [$($t)?] $($($rest)*)?)
    };
    (@s [$($net:ty)?] [$st:expr] [$($t:ty)?] $(constnet ::)? $(nn ::)? Flatten $(, $($rest:tt)*)?) => {
        $crate::__net!(@s [$crate::__net!(@link [$($net)?] $crate::nn::Flatten, { $st.len() })]
            [$crate::nn::shape::Stage::flatten($st)] [$($t)?] $($($rest)*)?)
    };
    (@s [$($net:ty)?] [$st:expr] [$($t:ty)?] $(constnet ::)? $(nn ::)? Linear < $i:tt , $o:tt $(, $lt:ty)? > $(, $($rest:tt)*)?) => {
        $crate::__net!(@s
            [$crate::__net!(@link [$($net)?]
                $crate::nn::Linear<{ $crate::nn::shape::Stage::linear($st, $i, $o).check().in_len() }, $o $(, $lt)?>,
                { $st.len() })]
            [$crate::nn::shape::Stage::linear($st, $i, $o)] [$($t)?] $($($rest)*)?)
    };
    (@s [$($net:ty)?] [$st:expr] [$($t:ty)?] $(constnet ::)? $(nn ::)? Residual < Net ! [ $($inner:tt)* ] > $(, $($rest:tt)*)?) => {
        $crate::__net!(@s [$crate::__net!(@link [$($net)?] $crate::nn::Residual<$crate::Net![$($inner)*]>,
            { $crate::nn::shape::residual($st.len(), $crate::__net!(@out [{ $st.len() }] $($inner)*)) })]
            [$st] [$($t)?] $($($rest)*)?)
    };
    (@s [$($net:ty)?] [$st:expr] [$($t:ty)?] $layer:ty => $o:tt $(, $($rest:tt)*)?) => {
        $crate::__net!(@s [$crate::__net!(@link [$($net)?] $layer, { $st.len() })]
            [$crate::nn::shape::Stage::other($st, $o)] [$($t)?] $($($rest)*)?)
    };
    (@s [$($net:ty)?] [$st:expr] [$($t:ty)?] $layer:ty $(, $($rest:tt)*)?) => {
        $crate::__net!(@s [$crate::__net!(@link [$($net)?] $layer, { $st.len() })] [$st] [$($t)?] $($($rest)*)?)
    };
    (@conv $name:ident $rank:tt [$($net:ty)?] [$st:expr] [$($args:tt)*] [$b:expr] [$($t:ty)?] $($rest:tt)*) => {
        $crate::__net!(@emit [$($net)?] [$st] [$crate::nn::$name] [$($args)*] [$rank] [, { $b } $(, $t)?] [$($t)?] $($rest)*)
    };
    (@pool $name:ident $rank:tt $max:tt [$($net:ty)?] [$prev:expr] [$k:tt, $s:tt] [$($t:ty)?] $($rest:tt)*) => {
        $crate::__net!(@emit [$($net)?] [$crate::nn::shape::Stage::pool($prev, $rank, $max, $k, $s)] [$crate::nn::$name] [$k, $s] [$rank] [] [$($t)?] $($rest)*)
    };
    // A layer type: its own arguments, the input's sides (`H, W` in 2-D, `L` in 1-D), its
    // input and output sizes (the input size checks the stage), then the trailing ones.
    (@emit [$($net:ty)?] [$st:expr] [$($path:tt)*] [$($args:tt)*] [2] [$($tail:tt)*] [$($t:ty)?] $($rest:tt)*) => {
        $crate::__net!(@s
            [$crate::__net!(@link [$($net)?]
                $($path)*<$($args)*, { $st.in_h() }, { $st.in_w() },
                    { $st.check().in_len() }, { $st.len() } $($tail)*>,
                { $st.in_len() })]
            [$st] [$($t)?] $($rest)*)
    };
    (@emit [$($net:ty)?] [$st:expr] [$($path:tt)*] [$($args:tt)*] [1] [$($tail:tt)*] [$($t:ty)?] $($rest:tt)*) => {
        $crate::__net!(@s
            [$crate::__net!(@link [$($net)?]
                $($path)*<$($args)*, { $st.in_w() },
                    { $st.check().in_len() }, { $st.len() } $($tail)*>,
                { $st.in_len() })]
            [$st] [$($t)?] $($rest)*)
    };
    // The output size of a list of layers that starts from `$m` values.
    (@out [$m:tt]) => { $m };
    (@out [$m:tt] $(constnet ::)? $(nn ::)? Linear < $i:tt , $o:tt $(, $t:ty)? > $(, $($rest:tt)*)?) => {
        $crate::__net!(@out [$o] $($($rest)*)?)
    };
    (@out [$m:tt] $layer:ty => $o:tt $(, $($rest:tt)*)?) => { $crate::__net!(@out [$o] $($($rest)*)?) };
    (@out [$m:tt] $layer:ty $(, $($rest:tt)*)?) => { $crate::__net!(@out [$m] $($($rest)*)?) };
    (@link [] $layer:ty, $m:tt) => { $layer };
    (@link [$net:ty] $layer:ty, $m:tt) => { $crate::nn::Chain<$net, $layer, $m> };
    (@or [] $default:tt) => { $default };
    (@or [$value:tt] $default:tt) => { $value };
}

#[cfg(feature = "std")]
#[cfg(test)]
mod tests {
    use super::*;
    use crate::{nn::layer::Layer, seq};
    use rand::rngs::StdRng;

    type Mlp<const H: usize> = crate::Net![Linear<3, H>, Relu, Linear<H, H>, Tanh, Linear<H, 2>];

    #[test]
    fn the_type_form_is_the_type_seq_builds() {
        let mut rng = StdRng::seed_from_u64(5);
        let built: Mlp<8> = seq![
            Linear::<3, 8>::new(Init::HeNormal, &mut rng),
            Relu,
            Linear::<8, 8>::new(Init::XavierUniform, &mut rng),
            Tanh,
            Linear::<8, 2>::new(Init::XavierUniform, &mut rng),
        ];
        // The default rule draws the same weights in the same order.
        let from_type = Mlp::<8>::init(&mut StdRng::seed_from_u64(5));
        let x = nalgebra::SVector::from([0.1, -0.4, 0.9]);
        assert_eq!(built.forward(&x), from_type.forward(&x));
        assert_eq!(from_type.depth(), 5);
    }

    #[test]
    fn overrides_and_zeros_apply_to_every_linear_layer() {
        let he = Mlp::<8>::init_with(Init::HeUniform, &mut StdRng::seed_from_u64(5));
        let mut rng = StdRng::seed_from_u64(5);
        let first = Linear::<3, 8>::new(Init::HeUniform, &mut rng);
        assert_eq!(he.first().first().first().first().weight(), first.weight());
        let zeros = Mlp::<4>::zeros();
        let mut all_zero = true;
        zeros.visit_params(&crate::nn::param::Path::ROOT, &mut |p| {
            all_zero &= p.value.iter().all(|&v| v == 0.0)
        });
        assert!(all_zero);
    }

    #[test]
    fn layers_of_other_sizes_and_scalars_fit_in_the_type_form() {
        type Wide = crate::Net![Linear<2, 3, f64>, Softmax, Linear<3, 1, f64>, Sigmoid];
        let net = Wide::init(&mut StdRng::seed_from_u64(1));
        let y = net.forward(&nalgebra::SVector::from([1.0, 2.0]));
        assert!(y[0] > 0.0 && y[0] < 1.0);
        type Leaky = crate::Net![Linear<2, 4>, LeakyRelu, Linear<4, 1>];
        const { assert!(!<Leaky as Build>::RECTIFIER && <LeakyRelu as Build>::RECTIFIER) };
        let _ = Leaky::init(&mut StdRng::seed_from_u64(1));
    }
}
