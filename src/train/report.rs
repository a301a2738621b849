//! What training reports: [`EpochReport`](crate::train::EpochReport) after every epoch, [`BatchProgress`](crate::train::BatchProgress) after every
//! minibatch, and the [`Metric`](crate::train::Metric)s to watch.

use std::time::Duration;

use crate::train::step::Evaluation;

/// A number of an [`EpochReport`](crate::train::EpochReport) to watch: for early stopping, checkpoints and
/// reduce-on-plateau. Losses, MAE and RMSE improve downwards, the others upwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Metric {
    /// Mean loss on the validation set.
    ValidationLoss,
    /// Accuracy on the validation set.
    ValidationAccuracy,
    /// Macro F1 on the validation set.
    ValidationF1,
    /// R² on the validation set.
    ValidationR2,
    /// Mean absolute error on the validation set.
    ValidationMae,
    /// Training loss: of the whole set after the epoch if
    /// [`Trainer::evaluate_train`](crate::train::Trainer::evaluate_train) is on, else the running mean of the minibatches.
    TrainLoss,
}

impl Metric {
    /// Its value in `report`, if the report has it.
    pub fn of(&self, report: &EpochReport) -> Option<f64> {
        let v = report.validation;
        match self {
            Metric::ValidationLoss => v.map(|e| e.loss),
            Metric::ValidationAccuracy => v.and_then(|e| e.accuracy),
            Metric::ValidationF1 => v.and_then(|e| e.classes).map(|c| c.f1),
            Metric::ValidationR2 => v.and_then(|e| e.regression).map(|r| r.r2),
            Metric::ValidationMae => v.and_then(|e| e.regression).map(|r| r.mae),
            Metric::TrainLoss => Some(report.train.map_or(report.train_loss, |t| t.loss)),
        }
    }

    /// Whether larger values are better.
    pub fn higher_is_better(&self) -> bool {
        matches!(
            self,
            Metric::ValidationAccuracy | Metric::ValidationF1 | Metric::ValidationR2
        )
    }

    /// Its name in words.
    pub fn name(&self) -> &'static str {
        match self {
            Metric::ValidationLoss => "validation loss",
            Metric::ValidationAccuracy => "validation accuracy",
            Metric::ValidationF1 => "validation F1",
            Metric::ValidationR2 => "validation R²",
            Metric::ValidationMae => "validation MAE",
            Metric::TrainLoss => "training loss",
        }
    }
}

/// Progress within an epoch, reported after every minibatch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchProgress {
    /// Epoch, from 1.
    pub epoch: usize,
    /// Minibatches done in this epoch.
    pub batch: usize,
    /// Minibatches in an epoch.
    pub batches: usize,
    /// Mean training loss over the epoch so far.
    pub running_loss: f64,
}

/// The global gradient norms of an epoch's minibatch steps, measured before clipping
/// ([`Trainer::clip`](crate::train::Trainer::clip)).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct GradNorms {
    /// Their mean over the epoch's steps.
    pub mean: f64,
    /// The largest.
    pub max: f64,
    /// The steps whose gradients clipping changed.
    pub clipped: usize,
    /// The steps.
    pub steps: usize,
}

/// What an epoch achieved.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EpochReport {
    /// Epoch, from 1.
    pub epoch: usize,
    /// The running mean of the epoch's minibatch losses, each measured before its update
    /// (cheap, but a mix of the network's states during the epoch).
    pub train_loss: f64,
    /// Fraction of training samples classified correctly, each before its update (running,
    /// as `train_loss`).
    pub train_accuracy: Option<f64>,
    /// Loss and scores of the whole training set after the epoch, in evaluation mode, if
    /// [`Trainer::evaluate_train`](crate::train::Trainer::evaluate_train) asked for them: the lesson's training numbers.
    pub train: Option<Evaluation>,
    /// `½·λ·Σw²` over the weights (not biases) after the epoch, for an optimizer with L2
    /// weight decay `λ` (0 without): the part of the regularised loss not in `train_loss`.
    pub weight_penalty: f64,
    /// The learning rate the epoch ran at.
    pub learning_rate: f64,
    /// Loss and accuracy on the held-out set after the epoch, if one was given.
    pub validation: Option<Evaluation>,
    /// Time spent training (minibatch steps only, without the evaluation).
    pub train_time: Duration,
    /// The largest absolute weight of each layer that has weights, first to last, after the
    /// epoch: a quick view of weights growing or dying.
    pub max_abs_weights: Vec<f64>,
    /// The gradient norms of the epoch's steps before clipping, when the trainer clips
    /// ([`Trainer::clip`](crate::train::Trainer::clip)).
    pub grad_norm: Option<GradNorms>,
}

/// One line: the training numbers (`train loss` of the whole set after the epoch when
/// [`Trainer::evaluate_train`](crate::train::Trainer::evaluate_train) is on, else `running train loss`, the mean over the epoch's
/// minibatches), the L2 penalty if any, then the validation numbers.
impl std::fmt::Display for EpochReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "epoch {:>3}: ", self.epoch)?;
        match self.train {
            Some(t) => {
                write!(f, "train loss {:.4}", t.loss)?;
                if let Some(a) = t.accuracy {
                    write!(f, ", train accuracy {:.2}%", 100.0 * a)?;
                }
            }
            None => {
                write!(f, "running train loss {:.4}", self.train_loss)?;
                if let Some(a) = self.train_accuracy {
                    write!(f, ", running train accuracy {:.2}%", 100.0 * a)?;
                }
            }
        }
        if self.weight_penalty > 0.0 {
            write!(f, " (+ L2 penalty {:.4})", self.weight_penalty)?;
        }
        if let Some(g) = self.grad_norm {
            write!(
                f,
                ", gradient norm mean {:.3} max {:.3} (clipped {} of {} steps)",
                g.mean, g.max, g.clipped, g.steps
            )?;
        }
        if let Some(v) = self.validation {
            write!(f, ", validation loss {:.4}", v.loss)?;
            if let Some(a) = v.accuracy {
                write!(f, ", validation accuracy {:.2}%", 100.0 * a)?;
            }
            if let Some(r) = v.regression {
                write!(f, ", validation R² {:.4}", r.r2)?;
            }
        }
        write!(f, " ({:.2} s)", self.train_time.as_secs_f64())
    }
}
