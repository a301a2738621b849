//! Optimizers: [`Sgd`] (plain, with momentum or Nesterov momentum), [`Adam`] and
//! [`RmsProp`] (plain, with momentum, centred), each with optional L2 weight decay, and
//! [`AdamW`] with decoupled weight decay; the [`Optimizer`] trait, whose steps take the learning rate;
//! their state as data ([`OptimizerState`]).
//!
//! An optimizer updates one parameter tensor at a time ([`Optimizer::update`]), keeping its
//! state per tensor by name ([`OptimizerState`]), made on the first step. Networks are driven
//! through [`Optimizer::step`].

mod adam;
mod adamw;
mod kernels;
pub(crate) mod optimizer;
#[cfg(test)]
mod reference;
mod rmsprop;
mod sgd;
mod state;

pub use adam::Adam;
pub use adamw::AdamW;
pub use optimizer::{Optimizer, Reset};
pub use rmsprop::RmsProp;
pub use sgd::Sgd;
pub use state::{OptimizerState, TensorState};

#[cfg(test)]
mod tests {
    use super::kernels::*;
    use super::*;
    #[allow(unused_imports)]
    use crate::alloc_prelude::*;
    use crate::error::Error;
    use crate::nn::layer::Layer as _;
    use crate::nn::param::{ParamMut, Path, Shape};

    /// Values spread over many magnitudes and signs, from a fixed seed.
    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let unit = (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
                unit * 10f32.powi((x >> 20) as i32 % 7 - 4)
            })
            .collect()
    }

    /// The AVX2 build of the update loops (taken on this machine when the CPU has AVX2) gives
    /// the very bits of the baseline build, on a length that is no multiple of any width.
    #[test]
    fn vectorised_updates_match_the_baseline_bit_for_bit() {
        let n = 1003;
        let adam = AdamStep {
            b1: 0.9f32,
            b2: 0.999,
            c1: 0.1,
            c2: 0.001,
            step: 1e-3,
            eps: 1e-8,
            decay: 1e-4,
        };
        let [w, g, m, v] = [1, 2, 3, 4].map(|s| values(n, s));
        let v: Vec<f32> = v.iter().map(|x| x.abs()).collect();
        let (mut w1, mut g1, mut m1, mut v1) = (w.clone(), g.clone(), m.clone(), v.clone());
        let (mut w2, mut g2, mut m2, mut v2) = (w.clone(), g.clone(), m.clone(), v.clone());
        adam_kernel(&mut w1, &mut g1, &mut m1, &mut v1, &adam);
        adam_update(&mut w2, &mut g2, &mut m2, &mut v2, &adam);
        let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&w1), bits(&w2));
        assert_eq!((bits(&m1), bits(&v1)), (bits(&m2), bits(&v2)));
        assert!(g1.iter().chain(&g2).all(|&x| x == 0.0));
        assert_ne!(bits(&w1), bits(&w), "the update changed the weights");

        for decay in [0.0, 1e-4] {
            let (mut w1, mut g1) = (w.clone(), g.clone());
            let (mut w2, mut g2) = (w.clone(), g.clone());
            sgd_kernel(&mut w1, &mut g1, 0.01, decay);
            sgd_update(&mut w2, &mut g2, 0.01, decay);
            assert_eq!(bits(&w1), bits(&w2));
            assert!(g1.iter().chain(&g2).all(|&x| x == 0.0));
        }
        for nesterov in [false, true] {
            let k = MomentumStep {
                lr: 0.01f32,
                mu: 0.9,
                decay: 1e-4,
                nesterov,
            };
            let (mut w1, mut g1, mut v1) = (w.clone(), g.clone(), m.clone());
            let (mut w2, mut g2, mut v2) = (w.clone(), g.clone(), m.clone());
            momentum_kernel(&mut w1, &mut g1, &mut v1, &k);
            momentum_update(&mut w2, &mut g2, &mut v2, &k);
            assert_eq!((bits(&w1), bits(&v1)), (bits(&w2), bits(&v2)));
        }
        let k = AdamWStep {
            shrink: 0.999f32,
            b2: 0.999,
            c1: 0.1,
            c2: 0.001,
            step: 1e-3,
            root_c2: 0.03,
            eps: 1e-8,
        };
        let (mut w1, mut g1, mut m1, mut v1) = (w.clone(), g.clone(), m.clone(), v.clone());
        let (mut w2, mut g2, mut m2, mut v2) = (w.clone(), g.clone(), m.clone(), v.clone());
        adamw_kernel(&mut w1, &mut g1, &mut m1, &mut v1, &k);
        adamw_update(&mut w2, &mut g2, &mut m2, &mut v2, &k);
        assert_eq!(
            (bits(&w1), bits(&m1), bits(&v1)),
            (bits(&w2), bits(&m2), bits(&v2))
        );
        let k = RmsPropStep {
            lr: 0.01f32,
            alpha: 0.99,
            c: 0.01,
            eps: 1e-8,
            mu: 0.9,
            decay: 1e-4,
        };
        // Centred with momentum: s = v (non-negative), b = m, a = a small running mean.
        let a: Vec<f32> = g.iter().map(|x| x * 0.01).collect();
        let (mut w1, mut g1, mut s1, mut b1, mut a1) =
            (w.clone(), g.clone(), v.clone(), m.clone(), a.clone());
        let (mut w2, mut g2, mut s2, mut b2, mut a2) =
            (w.clone(), g.clone(), v.clone(), m.clone(), a.clone());
        rmsprop_kernel(&mut w1, &mut g1, &mut s1, &mut b1, &mut a1, &k);
        rmsprop_update(&mut w2, &mut g2, &mut s2, &mut b2, &mut a2, &k);
        assert_eq!(
            (bits(&w1), bits(&s1), bits(&b1)),
            (bits(&w2), bits(&s2), bits(&b2))
        );
        assert_eq!(bits(&a1), bits(&a2));
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        eprintln!("AVX2 on this CPU: {}", crate::base::simd::has_avx2());
    }

    fn param<'a>(value: &'a mut [f64], grad: &'a mut [f64]) -> ParamMut<'a, f64> {
        ParamMut {
            path: &Path::ROOT,
            name: "weight",
            decay: true,
            role: crate::nn::param::Role::Learned,
            shape: Shape::Vector(value.len()),
            value,
            grad,
        }
    }

    /// Runs `steps` updates of `f(w) = ½·w²` (gradient `w`) from `w = 1`, recording `w`.
    fn trajectory(opt: &mut impl Optimizer<f64>, steps: usize) -> Vec<f64> {
        let mut w = [1.0];
        let mut out = Vec::new();
        for _ in 0..steps {
            let mut g = [w[0]];
            opt.begin_step();
            let lr = opt.learning_rate();
            opt.update(0, param(&mut w, &mut g), lr).unwrap();
            assert_eq!(g, [0.0], "the gradient is consumed");
            out.push(w[0]);
        }
        out
    }

    fn assert_close(a: &[f64], b: &[f64]) {
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-12, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn sgd_matches_hand_computation() {
        // w ← w − 0.1·w = 0.9·w
        assert_close(
            &trajectory(&mut Sgd::new(0.1).unwrap(), 3),
            &[0.9, 0.81, 0.729],
        );
    }

    #[test]
    fn momentum_matches_hand_computation() {
        // v1 = 1, w1 = 1 − 0.1 = 0.9; v2 = 0.5·1 + 0.9 = 1.4, w2 = 0.9 − 0.14 = 0.76
        let mut opt = Sgd::new(0.1).unwrap().momentum(0.5).unwrap();
        assert_close(&trajectory(&mut opt, 2), &[0.9, 0.76]);
        // Nesterov: d1 = 1 + 0.5·1 = 1.5, w1 = 0.85; g2 = 0.85, v2 = 0.5 + 0.85 = 1.35,
        // d2 = 0.85 + 0.675 = 1.525, w2 = 0.85 − 0.1525 = 0.6975
        let mut opt = Sgd::new(0.1).unwrap().momentum(0.5).unwrap().nesterov(true);
        assert_close(&trajectory(&mut opt, 2), &[0.85, 0.6975]);
    }

    #[test]
    fn weight_decay_applies_to_weights_only() {
        let mut opt = Sgd::new(0.1).unwrap().weight_decay(0.5).unwrap();
        let (mut w, mut g) = ([2.0], [0.0]);
        opt.update(0, param(&mut w, &mut g), 0.1).unwrap();
        assert_close(&w, &[2.0 - 0.1 * 0.5 * 2.0]);
        let (mut b, mut g) = ([2.0], [0.0]);
        opt.update(
            1,
            ParamMut {
                path: &Path::ROOT,
                name: "bias",
                decay: false,
                role: crate::nn::param::Role::Learned,
                shape: Shape::Vector(1),
                value: &mut b,
                grad: &mut g,
            },
            0.1,
        )
        .unwrap();
        assert_eq!(b, [2.0]);
    }

    #[test]
    fn adam_first_steps_match_the_paper() {
        // With bias correction the first step is −η·sign(g) (up to ε), whatever |g|.
        let mut opt = Adam::new(0.01).unwrap();
        let w = trajectory(&mut opt, 1);
        assert!((w[0] - 0.99).abs() < 1e-9, "{w:?}");
        // Second step, worked by hand: g = 0.99, m = 0.09 + 0.099 = 0.189,
        // v = 0.000999 + 0.001·0.9801 = 0.0019791; m̂ = 0.189/0.19, v̂ = 0.0019791/0.001999.
        let mut opt = Adam::new(0.01).unwrap();
        let w = trajectory(&mut opt, 2);
        let m_hat = 0.189 / 0.19;
        let v_hat: f64 = 0.0019791 / (1.0 - 0.999_f64.powi(2));
        assert!((w[1] - (0.99 - 0.01 * m_hat / (v_hat.sqrt() + 1e-8))).abs() < 1e-9);
    }

    #[test]
    fn invalid_hyperparameters_are_errors() {
        for lr in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                Sgd::<f32>::new(lr),
                Err(Error::InvalidLearningRate { .. })
            ));
            assert!(matches!(
                Adam::<f32>::new(lr),
                Err(Error::InvalidLearningRate { .. })
            ));
        }
        let sgd = Sgd::<f32>::new(0.1).unwrap();
        assert!(matches!(
            sgd.clone().momentum(1.0),
            Err(Error::InvalidHyperparameter {
                name: "momentum",
                ..
            })
        ));
        assert!(sgd.clone().weight_decay(-1.0).is_err());
        let adam = Adam::<f32>::new(0.1).unwrap();
        assert!(adam.clone().betas(0.9, 1.0).is_err());
        assert!(adam.clone().eps(0.0).is_err());
        assert_eq!(adam.learning_rate(), 0.1);
    }

    #[test]
    fn adam_weight_decay_is_added_to_the_gradient_of_weights_only() {
        // w = 2 with no loss gradient: g = λ·w = 1, and Adam's first step is −η·sign(g).
        let mut opt = Adam::new(0.01).unwrap().weight_decay(0.5).unwrap();
        let (mut w, mut g) = ([2.0], [0.0]);
        opt.begin_step();
        opt.update(0, param(&mut w, &mut g), 0.01).unwrap();
        assert!((w[0] - 1.99).abs() < 1e-9, "{w:?}");
        // Second step by hand: g = 0.995, m = 0.09 + 0.0995, v = 0.000999 + 0.001·0.995².
        let (m, v) = (0.1895, 0.000999 + 0.001 * 0.995_f64.powi(2));
        let (m_hat, v_hat) = (m / 0.19, v / (1.0 - 0.999_f64.powi(2)));
        opt.begin_step();
        opt.update(0, param(&mut w, &mut g), 0.01).unwrap();
        assert!((w[0] - (1.99 - 0.01 * m_hat / (v_hat.sqrt() + 1e-8))).abs() < 1e-9);
        // A bias with no gradient does not move.
        let (mut b, mut gb) = ([2.0], [0.0]);
        let bias = ParamMut {
            path: &Path::ROOT,
            name: "bias",
            decay: false,
            role: crate::nn::param::Role::Learned,
            shape: Shape::Vector(1),
            value: &mut b,
            grad: &mut gb,
        };
        opt.update(1, bias, 0.01).unwrap();
        assert_eq!(b, [2.0]);
    }

    /// The problem of `tests/pytorch/optim_reference.py`: 100 steps on a decayed weight and
    /// an undecayed bias; the values after steps 1, 2, 10, 50 and 100.
    fn pytorch_problem(opt: &mut dyn Optimizer<f64>) -> Vec<f64> {
        let start = |i: usize| ((i * 7) % 13) as f64 / 4.0 - 1.5;
        let target = |i: usize| ((i * 5) % 11) as f64 / 5.0 - 1.0;
        let curvature = |i: usize| 0.5 + ((i * 3) % 7) as f64 / 2.0;
        let grad = |p: &[f64], offset: usize| -> Vec<f64> {
            let at = p.iter().enumerate();
            at.map(|(i, &v)| {
                curvature(i + offset) * (v - target(i + offset)) + 0.1 * (3.0 * v).sin()
            })
            .collect()
        };
        let mut w: Vec<f64> = (0..5).map(start).collect();
        let mut b: Vec<f64> = (5..7).map(start).collect();
        let mut kept = Vec::new();
        for step in 1..=100 {
            let (mut gw, mut gb) = (grad(&w, 0), grad(&b, 5));
            opt.begin_step();
            let lr = opt.learning_rate();
            opt.update(0, param(&mut w, &mut gw), lr).unwrap();
            let bias = ParamMut {
                path: &Path::ROOT,
                name: "bias",
                decay: false,
                role: crate::nn::param::Role::Learned,
                shape: Shape::Vector(2),
                value: &mut b,
                grad: &mut gb,
            };
            opt.update(1, bias, lr).unwrap();
            if [1, 2, 10, 50, 100].contains(&step) {
                kept.extend(&w);
                kept.extend(&b);
            }
        }
        kept
    }

    /// AdamW and RMSprop (plain, momentum, centred, all options) follow PyTorch's
    /// trajectories for 100 steps.
    #[test]
    fn adamw_and_rmsprop_follow_pytorch_for_100_steps() {
        use super::reference::*;
        type Case = (&'static str, Box<dyn Optimizer<f64>>, &'static [f64]);
        let cases: [Case; 6] = [
            (
                "AdamW defaults",
                Box::new(AdamW::new(0.01).unwrap()),
                &ADAMW_DEFAULT,
            ),
            (
                "AdamW λ 0.5",
                Box::new(
                    AdamW::new(0.05)
                        .and_then(|o| o.weight_decay(0.5))
                        .and_then(|o| o.betas(0.8, 0.99))
                        .and_then(|o| o.eps(1e-6))
                        .unwrap(),
                ),
                &ADAMW_STRONG,
            ),
            (
                "RMSprop",
                Box::new(RmsProp::new(0.01).unwrap()),
                &RMSPROP_PLAIN,
            ),
            (
                "RMSprop momentum",
                Box::new(RmsProp::new(0.01).and_then(|o| o.momentum(0.9)).unwrap()),
                &RMSPROP_MOMENTUM,
            ),
            (
                "RMSprop centred",
                Box::new(RmsProp::new(0.01).unwrap().centered(true)),
                &RMSPROP_CENTERED,
            ),
            (
                "RMSprop all options",
                Box::new(
                    RmsProp::new(0.005)
                        .and_then(|o| o.alpha(0.9))
                        .and_then(|o| o.eps(1e-6))
                        .and_then(|o| o.momentum(0.5))
                        .and_then(|o| o.weight_decay(0.05))
                        .unwrap()
                        .centered(true),
                ),
                &RMSPROP_ALL,
            ),
        ];
        for (name, mut opt, torch) in cases {
            let ours = pytorch_problem(&mut *opt);
            let worst = ours
                .iter()
                .zip(torch)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            assert!(
                worst < 1e-13,
                "{name}: largest difference from PyTorch {worst:e}"
            );
            #[cfg(feature = "std")]
            eprintln!("{name}: largest difference from PyTorch {worst:e}");
        }
    }

    type Small = crate::nn::chain::Chain<
        crate::nn::layers::Linear<2, 3, f64>,
        crate::nn::layers::Linear<3, 1, f64>,
        3,
    >;

    fn small(seed: u64) -> Small {
        use crate::nn::layer::Layer;
        let mut rng = <rand::rngs::SmallRng as rand::SeedableRng>::seed_from_u64(seed);
        crate::nn::layers::Linear::new(crate::nn::init::Init::XavierUniform, &mut rng).then(
            crate::nn::layers::Linear::new(crate::nn::init::Init::XavierUniform, &mut rng),
        )
    }

    /// Gives every parameter the gradient 0.5 (as if a backward pass had).
    fn fill_grads<N: crate::nn::layer::Layer<f64, I, O>, const I: usize, const O: usize>(
        net: &mut N,
    ) {
        net.visit_params_mut(&Path::ROOT, &mut |p| p.grad.fill(0.5));
    }

    fn values_of<N: crate::nn::layer::Layer<f64, I, O>, const I: usize, const O: usize>(
        net: &N,
    ) -> Vec<f64> {
        let mut out = Vec::new();
        net.visit_params(&Path::ROOT, &mut |p| out.extend_from_slice(p.value));
        out
    }

    /// Regression: a slot whose length changed was silently zeroed and training went on; the
    /// state is now keyed by name and checked by shape, and a mismatch is an error.
    #[test]
    fn state_of_another_network_is_an_error_not_a_re_zero() {
        let mut adam = Adam::new(0.01).unwrap();
        let mut a = small(1);
        fill_grads(&mut a);
        adam.step(&mut a, 0.01).unwrap();
        let state: OptimizerState<f64> = adam.state();
        let names: Vec<_> = state.tensors.iter().map(|t| t.name.clone()).collect();
        assert_eq!(names, ["0.weight", "0.bias", "1.weight", "1.bias"]);
        let mut other = crate::nn::layers::Linear::<3, 2, f64>::zeros();
        fill_grads(&mut other);
        let err = adam.step(&mut other, 0.01).unwrap_err();
        assert!(
            matches!(&err, Error::OptimizerState { tensor, .. } if tensor == "0.weight"),
            "{err}"
        );
        assert!(
            err.to_string().contains("of shape [3, 2], not [2, 3]"),
            "{err}"
        );
        assert_eq!(values_of(&other), vec![0.0; 8], "nothing was updated");
    }

    /// The state goes out as data and back into a fresh optimizer, which then steps exactly
    /// as the one it came from; another optimizer's state is refused.
    #[test]
    fn state_round_trips_and_another_optimizers_is_refused() {
        for kind in 0..4 {
            let momentum = kind == 0;
            let make = || -> Box<dyn Optimizer<f64>> {
                match kind {
                    0 => Box::new(Sgd::new(0.1).unwrap().momentum(0.9).unwrap()),
                    1 => Box::new(Adam::new(0.01).unwrap()),
                    2 => Box::new(AdamW::new(0.01).unwrap()),
                    _ => Box::new(
                        RmsProp::new(0.01)
                            .unwrap()
                            .momentum(0.9)
                            .unwrap()
                            .centered(true),
                    ),
                }
            };
            let (mut a, mut b) = (small(2), small(2));
            let mut first = make();
            for _ in 0..3 {
                fill_grads(&mut a);
                first.step(&mut a, 0.05).unwrap();
            }
            let state = first.state();
            assert_eq!(state.steps, if momentum || kind == 3 { 0 } else { 3 });
            // b catches up with a's weights, then both go on: a with its optimizer, b with a
            // fresh one that took the state.
            b.visit_params_mut(&Path::ROOT, &mut |p| p.value.fill(0.0));
            let weights = values_of(&a);
            let mut at = 0;
            b.visit_params_mut(&Path::ROOT, &mut |p| {
                let n = p.value.len();
                p.value.copy_from_slice(&weights[at..at + n]);
                at += n;
            });
            let mut second = make();
            second.load_state(state.clone()).unwrap();
            assert_eq!(second.state(), state);
            for _ in 0..2 {
                fill_grads(&mut a);
                fill_grads(&mut b);
                first.step(&mut a, 0.05).unwrap();
                second.step(&mut b, 0.05).unwrap();
            }
            assert_eq!(values_of(&a), values_of(&b));
        }
        let adam_state = {
            let mut adam = Adam::new(0.01).unwrap();
            let mut net = small(3);
            fill_grads(&mut net);
            adam.step(&mut net, 0.01).unwrap();
            Optimizer::<f64>::state(&adam)
        };
        let mut sgd = Sgd::<f64>::new(0.1).unwrap().momentum(0.9).unwrap();
        let err = sgd.load_state(adam_state).unwrap_err();
        assert!(err.to_string().contains("state of Adam"), "{err}");
        let mut plain = Sgd::<f64>::new(0.1).unwrap();
        let momentum_state = Optimizer::<f64>::state(&sgd);
        assert!(plain.load_state(momentum_state).is_err(), "other buffers");
    }

    /// The learning rate of a step is the one passed in, not the one the optimizer was made
    /// with: w ← w − 0.5·g.
    #[test]
    fn a_step_uses_the_rate_passed_in() {
        let mut sgd = Sgd::new(0.1).unwrap();
        let mut net = crate::nn::layers::Linear::<1, 1, f64>::zeros();
        fill_grads(&mut net);
        sgd.step(&mut net, 0.5).unwrap();
        assert_eq!(values_of(&net), [-0.25, -0.25]);
        assert_eq!(Optimizer::<f64>::learning_rate(&sgd), 0.1);
    }
}
