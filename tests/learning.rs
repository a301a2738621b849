//! End-to-end learning: the classic lesson's problems, trained through the public API.

use constnet::data::datasets::{circles, two_moons, xor};
use constnet::nalgebra::SVector;
use constnet::rand::SeedableRng;
use constnet::rand::rngs::StdRng;
use constnet::{
    Scalar,
    data::Dataset,
    nn::{Init, Layer, Linear, LogisticLoss, Mse, Relu, SoftmaxCrossEntropy, Tanh},
    optim::{Adam, Sgd},
    seq,
    train::{Trainer, accuracy, evaluate},
};

fn learns_xor<T: Scalar>() {
    let data = xor::<T>();
    let mut rng = StdRng::seed_from_u64(5);
    let mut net = seq![
        Linear::<2, 8, T>::new(Init::XavierUniform, &mut rng),
        Tanh,
        Linear::<8, 2, T>::new(Init::XavierUniform, &mut rng),
    ];
    let history = Trainer::new(SoftmaxCrossEntropy, Adam::new(0.05).unwrap())
        .epochs(300)
        .batch_size(4)
        .fit(&mut net, &data, None, &mut ())
        .unwrap();
    assert_eq!(accuracy(&net, &data), 1.0);
    assert!(
        history.last().unwrap().train_loss < 0.05,
        "{:?}",
        history.last()
    );
}

#[test]
fn xor_is_learned_to_full_accuracy_in_f32_and_f64() {
    learns_xor::<f32>();
    learns_xor::<f64>();
}

#[test]
fn xor_is_learned_one_sample_at_a_time_with_momentum() {
    let data = xor::<f32>();
    let mut rng = StdRng::seed_from_u64(2);
    let mut net = seq![
        Linear::<2, 4>::new(Init::XavierNormal, &mut rng),
        Tanh,
        Linear::<4, 2>::new(Init::XavierNormal, &mut rng),
    ];
    let mut sgd = Sgd::new(0.1).unwrap().momentum(0.9).unwrap();
    for _ in 0..500 {
        for i in 0..4 {
            let (x, y) = data.sample(i);
            constnet::train::train_sample(&mut net, &SoftmaxCrossEntropy, &mut sgd, &x, y).unwrap();
        }
    }
    assert_eq!(accuracy(&net, &data), 1.0);
}

/// Test accuracy of a hidden-layer model and of a linear model on `train`/`test`.
fn hidden_vs_linear(train: &Dataset<f32, 2, usize>, test: &Dataset<f32, 2, usize>) -> (f64, f64) {
    let mut rng = StdRng::seed_from_u64(9);
    let mut hidden = seq![
        Linear::<2, 32>::new(Init::HeNormal, &mut rng),
        Relu,
        Linear::<32, 2>::new(Init::XavierUniform, &mut rng),
    ];
    let mut linear = Linear::<2, 2>::new(Init::XavierUniform, &mut rng);
    let mut trainer = Trainer::new(SoftmaxCrossEntropy, Adam::new(0.01).unwrap())
        .epochs(100)
        .batch_size(32);
    trainer
        .fit(&mut hidden, train, Some(test), &mut ())
        .unwrap();
    let mut trainer = Trainer::new(SoftmaxCrossEntropy, Adam::new(0.01).unwrap())
        .epochs(100)
        .batch_size(32);
    trainer
        .fit(&mut linear, train, Some(test), &mut ())
        .unwrap();
    (accuracy(&hidden, test), accuracy(&linear, test))
}

#[test]
fn two_moons_need_a_hidden_layer() {
    let (train, test) = two_moons::<f32>(1000, 0.1, 1).split_at(800);
    let (hidden, linear) = hidden_vs_linear(&train, &test);
    assert!(hidden >= 0.97, "hidden-layer test accuracy {hidden}");
    assert!(linear < 0.92, "linear test accuracy {linear}");
    assert!(hidden - linear > 0.07);
}

#[test]
fn concentric_circles_need_a_hidden_layer() {
    let (train, test) = circles::<f32>(1000, 0.05, 0.5, 2).split_at(800);
    let (hidden, linear) = hidden_vs_linear(&train, &test);
    assert!(hidden >= 0.97, "hidden-layer test accuracy {hidden}");
    assert!(linear < 0.75, "linear test accuracy {linear}");
}

#[test]
fn logistic_loss_trains_a_binary_classifier() {
    let moons = two_moons::<f64>(600, 0.1, 3);
    let samples = (0..moons.len()).map(|i| {
        let (x, &class) = moons.sample(i);
        (x, class as f64)
    });
    let (train, test) = Dataset::from_samples(samples).unwrap().split_at(500);
    let mut rng = StdRng::seed_from_u64(4);
    let mut net = seq![
        Linear::<2, 16, f64>::new(Init::XavierUniform, &mut rng),
        Tanh,
        Linear::<16, 1, f64>::new(Init::XavierUniform, &mut rng),
    ];
    Trainer::new(LogisticLoss, Adam::new(0.02).unwrap())
        .epochs(150)
        .batch_size(16)
        .fit(&mut net, &train, None, &mut ())
        .unwrap();
    let result = evaluate(&net, &LogisticLoss, &test).unwrap();
    assert!(result.accuracy.unwrap() >= 0.96, "{result:?}");
    assert!(result.loss < 0.15, "{result:?}");
}

#[test]
fn noisy_sine_is_fitted_with_low_error() {
    let mut rng = StdRng::seed_from_u64(6);
    let pi = std::f64::consts::PI;
    let make = |n: usize, noise: f64, rng: &mut StdRng| {
        let samples = (0..n).map(|_| {
            let x: f64 = constnet::rand::RngExt::random_range(rng, -pi..pi);
            let e: f64 = noise * constnet::rand::RngExt::random_range(rng, -1.0..1.0);
            (
                SVector::from([x as f32]),
                SVector::from([(x.sin() + e) as f32]),
            )
        });
        Dataset::from_samples(samples.collect::<Vec<_>>()).unwrap()
    };
    let train = make(256, 0.1, &mut rng);
    let clean_test = make(200, 0.0, &mut rng);
    let mut net = seq![
        Linear::<1, 32>::new(Init::XavierUniform, &mut rng),
        Tanh,
        Linear::<32, 32>::new(Init::XavierUniform, &mut rng),
        Tanh,
        Linear::<32, 1>::new(Init::XavierUniform, &mut rng),
    ];
    Trainer::new(Mse, Adam::new(0.01).unwrap())
        .epochs(300)
        .batch_size(32)
        .fit(&mut net, &train, None, &mut ())
        .unwrap();
    let mse = evaluate(&net, &Mse, &clean_test).unwrap().loss;
    assert!(mse < 0.01, "test MSE against the clean sine: {mse}");
}

#[test]
fn training_is_deterministic_for_a_seed() {
    let run = || {
        let data = two_moons::<f32>(200, 0.1, 8);
        let mut rng = StdRng::seed_from_u64(1);
        let mut net = seq![
            Linear::<2, 8>::new(Init::HeNormal, &mut rng),
            Relu,
            Linear::<8, 2>::new(Init::HeNormal, &mut rng),
        ];
        Trainer::new(SoftmaxCrossEntropy, Sgd::new(0.1).unwrap())
            .epochs(3)
            .batch_size(16)
            .fit(&mut net, &data, None, &mut ())
            .unwrap();
        net.forward(&SVector::from([0.3, -0.2]))
    };
    assert_eq!(run(), run());
}

#[test]
fn in_order_minibatches_of_one_are_the_one_sample_steps_in_file_order() {
    let data = two_moons::<f64>(40, 0.1, 12);
    let make = || {
        let mut rng = StdRng::seed_from_u64(13);
        seq![
            Linear::<2, 6, f64>::new(Init::HeNormal, &mut rng),
            Tanh,
            Linear::<6, 2, f64>::new(Init::XavierUniform, &mut rng),
        ]
    };
    let mut by_trainer = make();
    Trainer::new(SoftmaxCrossEntropy, Sgd::new(0.1).unwrap())
        .epochs(2)
        .batch_size(1)
        .order(constnet::train::Order::InOrder)
        .fit(&mut by_trainer, &data, None, &mut ())
        .unwrap();
    let mut by_hand = make();
    let mut sgd = Sgd::new(0.1).unwrap();
    for _ in 0..2 {
        for i in 0..data.len() {
            let (x, y) = data.sample(i);
            constnet::train::train_sample(&mut by_hand, &SoftmaxCrossEntropy, &mut sgd, &x, y)
                .unwrap();
        }
    }
    let probe = SVector::from([0.2, 0.4]);
    let (a, b) = (by_trainer.forward(&probe), by_hand.forward(&probe));
    assert!((a - b).amax() < 1e-12, "{a} vs {b}");
    // A shuffled order gives another trajectory.
    let mut shuffled = make();
    Trainer::new(SoftmaxCrossEntropy, Sgd::new(0.1).unwrap())
        .epochs(2)
        .batch_size(1)
        .fit(&mut shuffled, &data, None, &mut ())
        .unwrap();
    assert!((shuffled.forward(&probe) - a).amax() > 1e-9);
}

/// Learning-rate decay: epoch `e` runs at `lr · γ^(e−1)`, exactly as steps driven by hand
/// at those rates, and the optimizer ends at the last epoch's rate.
#[test]
fn learning_rate_decay_runs_each_epoch_at_its_rate() {
    let data = two_moons::<f64>(40, 0.1, 3);
    let make = || {
        let mut rng = StdRng::seed_from_u64(21);
        seq![
            Linear::<2, 5, f64>::new(Init::HeNormal, &mut rng),
            Tanh,
            Linear::<5, 2, f64>::new(Init::XavierUniform, &mut rng),
        ]
    };
    let mut by_trainer = make();
    let mut trainer = Trainer::new(SoftmaxCrossEntropy, Sgd::<f64>::new(0.4).unwrap())
        .epochs(3)
        .batch_size(40)
        .order(constnet::train::Order::InOrder)
        .lr_decay(0.5);
    let mut batches = Vec::new();
    struct Record<'a>(&'a mut Vec<constnet::train::BatchProgress>);
    impl constnet::train::Callback<f64> for Record<'_> {
        fn on_batch(&mut self, p: &constnet::train::BatchProgress) {
            self.0.push(*p);
        }
    }
    trainer
        .fit(&mut by_trainer, &data, None, &mut Record(&mut batches))
        .unwrap();
    // The schedule passed each epoch its rate and left the optimizer's own as it was.
    assert_eq!(trainer.optimizer_mut().learning_rate(), 0.4);
    // One whole-set batch per epoch, reported to the observer.
    assert_eq!(
        batches
            .iter()
            .map(|p| (p.epoch, p.batch, p.batches))
            .collect::<Vec<_>>(),
        [(1, 1, 1), (2, 1, 1), (3, 1, 1)]
    );

    let mut by_hand = make();
    let mut sgd = Sgd::<f64>::new(0.4).unwrap();
    let mut workspace = constnet::train::Workspace::new();
    for (epoch, lr) in [0.4, 0.2, 0.1].into_iter().enumerate() {
        let out = workspace
            .step_with_rate(
                &mut by_hand,
                &SoftmaxCrossEntropy,
                &mut sgd,
                lr,
                data.features(),
                data.targets(),
            )
            .unwrap();
        assert_eq!(out.mean, batches[epoch].running_loss);
    }
    let probe = SVector::from([0.3, -0.2]);
    assert_eq!(by_trainer.forward(&probe), by_hand.forward(&probe));
    // Without decay the result differs.
    let mut constant = make();
    Trainer::new(SoftmaxCrossEntropy, Sgd::<f64>::new(0.4).unwrap())
        .epochs(3)
        .batch_size(40)
        .order(constnet::train::Order::InOrder)
        .fit(&mut constant, &data, None, &mut ())
        .unwrap();
    assert_ne!(constant.forward(&probe), by_hand.forward(&probe));
}

/// A second `fit` goes on where the first stopped: one epoch twice is two epochs, bit for
/// bit (shuffle stream, learning-rate decay, optimizer state), and epochs are numbered on.
#[test]
fn two_fits_of_one_epoch_are_one_fit_of_two() {
    let data = two_moons::<f32>(200, 0.2, 4);
    let make = || {
        let mut rng = StdRng::seed_from_u64(8);
        seq![
            Linear::<2, 12>::new(Init::HeNormal, &mut rng),
            Relu,
            Linear::<12, 2>::new(Init::XavierUniform, &mut rng),
        ]
    };
    let trainer = |epochs| {
        Trainer::new(SoftmaxCrossEntropy, Adam::new(0.02).unwrap())
            .epochs(epochs)
            .batch_size(16)
            .order(constnet::train::Order::Shuffled { seed: 11 })
            .lr_decay(0.5)
    };
    let mut once = make();
    let whole = trainer(2).fit(&mut once, &data, None, &mut ()).unwrap();
    let mut twice = make();
    let mut halves = trainer(1);
    let first = halves.fit(&mut twice, &data, None, &mut ()).unwrap();
    let second = halves.fit(&mut twice, &data, None, &mut ()).unwrap();
    assert_eq!((first[0].epoch, second[0].epoch), (1, 2));
    assert_eq!(second[0].train_loss, whole[1].train_loss);
    assert_eq!(halves.epochs_done(), 2);
    let probe = SVector::from([0.1, 0.7]);
    assert_eq!(once.forward(&probe), twice.forward(&probe));

    // After `restart`, a fresh network trains exactly as the first did: the permutation, the
    // schedule and the optimizer's state start over (the schedule never changed the
    // optimizer's own rate).
    halves.restart();
    let mut fresh = make();
    let again = halves.fit(&mut fresh, &data, None, &mut ()).unwrap();
    assert_eq!(again[0].epoch, 1);
    assert_eq!(again[0].train_loss, first[0].train_loss);
}
