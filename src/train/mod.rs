//! Training: single steps ([`train_sample`], [`Workspace`]), evaluation and metrics, the
//! epoch loop ([`Trainer`]) with its callbacks, schedules, reports and checkpoints, and
//! gradient checks ([`gradcheck`]).

#[cfg(feature = "std")]
pub(crate) mod callback;
#[cfg(feature = "safetensors")]
pub(crate) mod checkpoint;
pub(crate) mod clip;
#[cfg(feature = "std")]
pub mod gradcheck;
pub(crate) mod metrics;
#[cfg(feature = "std")]
pub(crate) mod report;
#[cfg(feature = "std")]
pub(crate) mod schedule;
pub(crate) mod step;
#[cfg(feature = "std")]
pub(crate) mod trainer;

#[cfg(feature = "std")]
pub use callback::{Callback, EarlyStopping, Params, PrintEpochs};
#[cfg(feature = "safetensors")]
pub use callback::{Checkpoint, Keep};
pub use clip::Clip;
pub use metrics::{
    ClassScores, ConfusionMatrix, RegressionScores, accuracy, argmax, regression_scores,
};
#[cfg(feature = "std")]
pub use report::{BatchProgress, EpochReport, GradNorms, Metric};
#[cfg(feature = "std")]
pub use schedule::Schedule;
pub use step::{Evaluation, Workspace, evaluate, max_abs_weights, train_sample};
#[cfg(feature = "std")]
pub use trainer::{Order, Trainer};
