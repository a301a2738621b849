//! Learning-rate schedules, as values: the rate of every epoch from the base rate (the
//! optimizer's rate when training started).

use std::f64::consts::PI;

use crate::train::report::{EpochReport, Metric};

/// How the learning rate changes from epoch to epoch. [`Trainer::schedule`](crate::train::trainer::Trainer::schedule)
/// sets it before each epoch; epochs count from 1 and go on across calls to `fit`.
///
/// The formulas are PyTorch's (`StepLR`, `ExponentialLR`, `CosineAnnealingLR`, `OneCycleLR`
/// with cosine annealing, `ReduceLROnPlateau` in relative-threshold mode), applied per epoch.
///
/// # Example
/// ```
/// use constnet::train::Schedule;
/// let cosine = Schedule::Cosine { epochs: 10, min_lr: 0.0 };
/// assert_eq!(cosine.lr(0.1, 1), 0.1);
/// assert!((cosine.lr(0.1, 6) - 0.05).abs() < 1e-15); // half-way down
/// let step = Schedule::Step { every: 3, gamma: 0.5 };
/// assert_eq!([1, 3, 4, 7].map(|e| step.lr(0.1, e)), [0.1, 0.1, 0.05, 0.025]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Schedule {
    /// The base rate throughout.
    Constant,
    /// `base · gamma^⌊(e − 1) / every⌋`: multiplied by `gamma` every `every` epochs.
    Step {
        /// Epochs between reductions.
        every: usize,
        /// The factor, in (0, 1].
        gamma: f64,
    },
    /// `base · gamma^(e − 1)`.
    Exponential {
        /// The factor per epoch, in (0, 1].
        gamma: f64,
    },
    /// Cosine annealing from the base rate to `min_lr` over `epochs` epochs:
    /// `min + (base − min)·(1 + cos(π·(e − 1)/epochs))/2`, then `min_lr`.
    Cosine {
        /// Epochs of the half cosine.
        epochs: usize,
        /// The rate it ends at.
        min_lr: f64,
    },
    /// A linear warm-up from `base/warmup` to `base` over the first `warmup` epochs, then
    /// cosine annealing to `min_lr` over the remaining `epochs − warmup`.
    WarmupCosine {
        /// Warm-up epochs.
        warmup: usize,
        /// All epochs, warm-up included.
        epochs: usize,
        /// The rate it ends at.
        min_lr: f64,
    },
    /// Smith's one-cycle policy: from `max_lr/div_factor` up to `max_lr` over the first
    /// `pct_start` of the `epochs`, then down to `max_lr/(div_factor·final_div_factor)`,
    /// both halves cosine. The base rate is not used.
    OneCycle {
        /// All epochs of the cycle.
        epochs: usize,
        /// The peak rate.
        max_lr: f64,
        /// The share of the cycle spent rising (PyTorch's default 0.3).
        pct_start: f64,
        /// Peak over initial rate (default 25).
        div_factor: f64,
        /// Initial over final rate (default 10⁴).
        final_div_factor: f64,
    },
    /// Multiplies the rate by `factor` when `metric` has not improved by more than
    /// `threshold` (relative) for more than `patience` epochs, never going below `min_lr`.
    ReduceOnPlateau {
        /// What is watched.
        metric: Metric,
        /// The factor, in (0, 1).
        factor: f64,
        /// Epochs without improvement that are tolerated.
        patience: usize,
        /// Relative improvement that counts (PyTorch's default 10⁻⁴).
        threshold: f64,
        /// The floor.
        min_lr: f64,
    },
}

impl Schedule {
    /// One cycle over `epochs` peaking at `max_lr`, with PyTorch's defaults.
    pub fn one_cycle(epochs: usize, max_lr: f64) -> Self {
        Schedule::OneCycle {
            epochs,
            max_lr,
            pct_start: 0.3,
            div_factor: 25.0,
            final_div_factor: 1e4,
        }
    }

    /// Reduce-on-plateau of `metric` with PyTorch's defaults (factor 0.1, patience 10,
    /// threshold 10⁻⁴, no floor).
    ///
    /// # Example
    /// ```
    /// use constnet::train::{Metric, Schedule};
    /// let schedule = Schedule::reduce_on_plateau(Metric::ValidationLoss);
    /// assert!(matches!(schedule, Schedule::ReduceOnPlateau { factor: 0.1, patience: 10, .. }));
    /// ```
    pub fn reduce_on_plateau(metric: Metric) -> Self {
        Schedule::ReduceOnPlateau {
            metric,
            factor: 0.1,
            patience: 10,
            threshold: 1e-4,
            min_lr: 0.0,
        }
    }

    /// The rate of epoch `epoch` (from 1) for base rate `base`. For
    /// [`Schedule::ReduceOnPlateau`](crate::train::Schedule::ReduceOnPlateau), which depends on the metrics seen, this is the base
    /// rate: the trainer follows its plateau state instead.
    pub fn lr(&self, base: f64, epoch: usize) -> f64 {
        let t = epoch.saturating_sub(1) as f64;
        let cosine = |from: f64, to: f64, fraction: f64| {
            to + (from - to) * (1.0 + (PI * fraction.clamp(0.0, 1.0)).cos()) / 2.0
        };
        match *self {
            Schedule::Constant | Schedule::ReduceOnPlateau { .. } => base,
            Schedule::Step { every, gamma } => {
                let steps = (epoch.saturating_sub(1) / every.max(1)).min(i32::MAX as usize);
                base * gamma.powi(steps as i32)
            }
            Schedule::Exponential { gamma } => {
                base * gamma.powi(epoch.saturating_sub(1).min(i32::MAX as usize) as i32)
            }
            Schedule::Cosine { epochs, min_lr } => cosine(base, min_lr, t / epochs.max(1) as f64),
            Schedule::WarmupCosine {
                warmup,
                epochs,
                min_lr,
            } => {
                if epoch <= warmup {
                    base * epoch as f64 / warmup as f64
                } else {
                    let rest = epochs.saturating_sub(warmup).max(1) as f64;
                    cosine(base, min_lr, (t - warmup as f64) / rest)
                }
            }
            Schedule::OneCycle {
                epochs,
                max_lr,
                pct_start,
                div_factor,
                final_div_factor,
            } => {
                let initial = max_lr / div_factor;
                let last = initial / final_div_factor;
                let total = epochs.max(2) as f64;
                let peak = pct_start * total - 1.0;
                if t <= peak {
                    cosine(initial, max_lr, if peak > 0.0 { t / peak } else { 1.0 })
                } else {
                    cosine(max_lr, last, (t - peak) / (total - 1.0 - peak))
                }
            }
        }
    }

    /// Checks the schedule's numbers.
    pub(crate) fn check(&self) -> Result<(), crate::error::Error> {
        let bad = |name, value: f64, expected| {
            Err(crate::error::Error::InvalidHyperparameter {
                name,
                value,
                expected,
            })
        };
        match *self {
            Schedule::Step { gamma, .. } | Schedule::Exponential { gamma }
                if !(gamma > 0.0 && gamma <= 1.0) =>
            {
                bad("learning-rate decay", gamma, "in (0, 1]")
            }
            Schedule::Step { every: 0, .. } => bad("step schedule period", 0.0, "at least 1"),
            Schedule::Cosine { min_lr, .. } | Schedule::WarmupCosine { min_lr, .. }
                if !(min_lr >= 0.0 && min_lr.is_finite()) =>
            {
                bad("minimum learning rate", min_lr, "finite and at least 0")
            }
            Schedule::WarmupCosine { warmup: 0, .. } => bad("warm-up epochs", 0.0, "at least 1"),
            Schedule::WarmupCosine { warmup, epochs, .. } if warmup >= epochs => bad(
                "warm-up epochs",
                warmup as f64,
                "fewer than the schedule's epochs (the rest decays)",
            ),
            Schedule::OneCycle {
                max_lr,
                pct_start,
                div_factor,
                final_div_factor,
                ..
            } => {
                if !(max_lr > 0.0 && max_lr.is_finite()) {
                    bad("one-cycle peak rate", max_lr, "finite and greater than 0")
                } else if !(pct_start > 0.0 && pct_start < 1.0) {
                    bad("one-cycle rising share", pct_start, "in (0, 1)")
                } else if !(div_factor >= 1.0 && final_div_factor >= 1.0) {
                    bad(
                        "one-cycle division factor",
                        div_factor.min(final_div_factor),
                        "at least 1",
                    )
                } else {
                    Ok(())
                }
            }
            Schedule::ReduceOnPlateau {
                factor,
                threshold,
                min_lr,
                ..
            } => {
                if !(factor > 0.0 && factor < 1.0) {
                    bad("plateau factor", factor, "in (0, 1)")
                } else if !(threshold >= 0.0 && threshold.is_finite()) {
                    bad("plateau threshold", threshold, "finite and at least 0")
                } else if !(min_lr >= 0.0 && min_lr.is_finite()) {
                    bad("minimum learning rate", min_lr, "finite and at least 0")
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }
}

/// The state of [`Schedule::ReduceOnPlateau`](crate::train::Schedule::ReduceOnPlateau): the best value seen, the epochs since, and
/// the current rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Plateau {
    /// The best value of the metric so far.
    pub(crate) best: Option<f64>,
    /// Epochs since it last improved.
    pub(crate) bad_epochs: usize,
    /// The current rate.
    pub(crate) lr: f64,
}

impl Plateau {
    pub(crate) fn new(lr: f64) -> Self {
        Plateau {
            best: None,
            bad_epochs: 0,
            lr,
        }
    }

    /// Takes an epoch's report into account; returns the rate for the next epoch.
    pub(crate) fn observe(&mut self, schedule: &Schedule, report: &EpochReport) -> f64 {
        let Schedule::ReduceOnPlateau {
            metric,
            factor,
            patience,
            threshold,
            min_lr,
        } = *schedule
        else {
            return self.lr;
        };
        let Some(value) = metric.of(report) else {
            return self.lr;
        };
        let better = match self.best {
            None => true,
            Some(best) if metric.higher_is_better() => value > best * (1.0 + threshold),
            Some(best) => value < best * (1.0 - threshold),
        };
        if better {
            self.best = Some(value);
            self.bad_epochs = 0;
        } else {
            self.bad_epochs += 1;
            if self.bad_epochs > patience {
                self.lr = (self.lr * factor).max(min_lr);
                self.bad_epochs = 0;
            }
        }
        self.lr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1e-12)
    }

    fn rates(s: Schedule, base: f64, epochs: usize) -> Vec<f64> {
        (1..=epochs).map(|e| s.lr(base, e)).collect()
    }

    #[test]
    fn step_and_exponential_numbers() {
        let s = Schedule::Step {
            every: 2,
            gamma: 0.1,
        };
        let r = rates(s, 1.0, 6);
        for (got, want) in r.iter().zip([1.0, 1.0, 0.1, 0.1, 0.01, 0.01]) {
            assert!(close(*got, want), "{r:?}");
        }
        let e = rates(Schedule::Exponential { gamma: 0.5 }, 0.8, 4);
        assert_eq!(e, [0.8, 0.4, 0.2, 0.1]);
        assert_eq!(rates(Schedule::Constant, 0.3, 3), [0.3; 3]);
    }

    /// CosineAnnealingLR(lr=0.1, T_max=4, eta_min=0.01): PyTorch's closed form
    /// `eta_min + (base − eta_min)(1 + cos(π·t/T_max))/2`, computed in Python; after `T_max`
    /// this schedule stays at the minimum (PyTorch's would rise again).
    #[test]
    fn cosine_matches_pytorch() {
        let s = Schedule::Cosine {
            epochs: 4,
            min_lr: 0.01,
        };
        let want = [
            0.1,
            0.08681980515339464,
            0.05500000000000001,
            0.023180194846605363,
            0.01,
            0.01,
        ];
        for (got, want) in rates(s, 0.1, 6).iter().zip(want) {
            assert!(close(*got, want), "{got} vs {want}");
        }
    }

    #[test]
    fn warmup_then_cosine() {
        let s = Schedule::WarmupCosine {
            warmup: 2,
            epochs: 6,
            min_lr: 0.0,
        };
        let r = rates(s, 1.0, 6);
        let want = [
            0.5,
            1.0,
            1.0,
            (1.0 + (PI / 4.0).cos()) / 2.0,
            0.5,
            (1.0 + (3.0 * PI / 4.0).cos()) / 2.0,
        ];
        for (got, want) in r.iter().zip(want) {
            assert!(close(*got, want), "{r:?}");
        }
    }

    /// OneCycleLR(max_lr=1.0, total_steps=10) (pct_start 0.3, div 25, final 1e4): the
    /// values of PyTorch's formula (`_annealing_cos` over its two phases, phase ends at
    /// steps `0.3·10 − 1` and `10 − 1`), computed in Python.
    #[test]
    fn one_cycle_matches_pytorch() {
        let r = rates(Schedule::one_cycle(10, 1.0), 123.0, 10);
        let want = [
            0.040000000000000036,
            0.52,
            1.0,
            0.9504846320134737,
            0.8117456539497631,
            0.6112620219362893,
            0.38874197806371075,
            0.18825834605023697,
            0.049519367986526286,
            4e-06,
        ];
        for (got, want) in r.iter().zip(want) {
            assert!((got - want).abs() < 1e-12, "{r:?}");
        }
    }

    fn report(validation_loss: f64) -> EpochReport {
        EpochReport {
            validation: Some(crate::train::step::Evaluation {
                loss: validation_loss,
                accuracy: None,
                classes: None,
                regression: None,
            }),
            ..EpochReport::default()
        }
    }

    /// ReduceLROnPlateau(factor=0.5, patience=1) on losses 1, 0.9, 0.95, 0.95, 0.8, 0.85,
    /// 0.85 by PyTorch's rule (reduce when the epochs without a relative improvement exceed
    /// the patience): rates 1, 1, 1, 0.5, 0.5, 0.5, 0.25, here floored at 0.3.
    #[test]
    fn reduce_on_plateau_follows_the_metric() {
        let s = Schedule::ReduceOnPlateau {
            metric: Metric::ValidationLoss,
            factor: 0.5,
            patience: 1,
            threshold: 1e-4,
            min_lr: 0.3,
        };
        let mut p = Plateau::new(1.0);
        let got: Vec<f64> = [1.0, 0.9, 0.95, 0.95, 0.8, 0.85, 0.85]
            .map(|l| p.observe(&s, &report(l)))
            .to_vec();
        assert_eq!(
            got,
            [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.3],
            "floored at min_lr"
        );
        // No validation set: the metric is absent and nothing changes.
        assert_eq!(p.observe(&s, &EpochReport::default()), 0.3);
    }

    #[test]
    fn bad_numbers_are_refused() {
        for s in [
            Schedule::Step {
                every: 0,
                gamma: 0.5,
            },
            Schedule::Exponential { gamma: 1.5 },
            Schedule::Cosine {
                epochs: 3,
                min_lr: -1.0,
            },
            Schedule::one_cycle(5, f64::NAN),
            Schedule::ReduceOnPlateau {
                metric: Metric::TrainLoss,
                factor: 1.0,
                patience: 0,
                threshold: 0.0,
                min_lr: 0.0,
            },
        ] {
            assert!(s.check().is_err(), "{s:?}");
        }
        assert!(Schedule::one_cycle(5, 0.1).check().is_ok());
    }
}
