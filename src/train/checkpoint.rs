//! Training checkpoints: everything a run needs to go on exactly where it stopped, in one
//! safetensors file written atomically.
//!
//! | what | where in the file |
//! |---|---|
//! | the weights | their own names (`0.weight`), as [`io::save_safetensors`](crate::io::save_safetensors) writes them |
//! | the optimizer's buffers | tensors `optimizer.<parameter>.<buffer>` (`optimizer.0.weight.exp_avg`), PyTorch's shape and layout |
//! | the optimizer, its buffer names, steps | metadata `optimizer`, `optimizer.buffers`, `optimizer.steps`, `optimizer.tensors` |
//! | the trainer's progress | metadata `trainer.epochs_done`, `trainer.initial_lr`, `trainer.plateau.*` |
//! | layers' counters (dropout masks) | metadata `layers.<name>` (`layers.3.calls`) |
//! | callbacks (early stopping) and your extras | under `callbacks.` (tensors and metadata) |
//!
//! The shuffle stream is not stored: it is a function of the order's seed and the epochs done,
//! and a resumed run replays it.

use std::collections::BTreeMap;
use std::path::Path as FilePath;

use crate::io::Record;
use crate::io::fs::read_regular_file;
use crate::io::safetensors::{decode_with_record, to_safetensors_with_record, write_params};
use crate::optim::{OptimizerState, TensorState};
use crate::train::callback::Callback;
use crate::{
    base::scalar::Scalar, error::Error, io::fs::write_atomic, nn::layer::Layer, nn::param::Path,
    nn::param::StateOp, optim::Optimizer,
};

/// The metadata key that marks a training checkpoint, and its format version.
const MARK: &str = "constnet.checkpoint";

/// Room in a checkpoint beyond the network's values: the optimizer's buffers (two per
/// parameter for Adam), early stopping's best weights, and the header.
fn size_limit(params: usize, value: usize) -> u64 {
    (params as u64).saturating_mul(4 * value as u64) + (1 << 22)
}

/// The record of a checkpoint: the optimizer's state, the layers' counters and the
/// callbacks' state (the trainer adds its progress).
pub(crate) fn record<T, N, Opt, C, const I: usize, const O: usize>(
    net: &mut N,
    optimizer: &Opt,
    callbacks: &C,
) -> Record<T>
where
    T: Scalar,
    N: Layer<T, I, O>,
    Opt: Optimizer<T>,
    C: Callback<T> + ?Sized,
{
    let mut record = Record::default();
    record.put(MARK, 1);
    let state = optimizer.state();
    record.put("optimizer", state.optimizer);
    record.put("optimizer.buffers", state.buffer_names.join(","));
    record.put("optimizer.steps", state.steps);
    record.put("optimizer.tensors", state.tensors.len());
    for tensor in &state.tensors {
        for (buffer, values) in state.buffer_names.iter().zip(&tensor.buffers) {
            let name = format!("optimizer.{}.{buffer}", tensor.name);
            record.put_param_like(name, tensor.shape, values);
        }
    }
    net.visit_state(
        &Path::ROOT,
        &mut StateOp::Save(&mut |name, value| record.put(format!("layers.{name}"), value)),
    );
    callbacks.save_state(&mut record, "callbacks");
    record
}

/// Writes `record` and the network's weights to `path`, atomically.
pub(crate) fn write<T: Scalar, N: Layer<T, I, O>, const I: usize, const O: usize>(
    net: &N,
    record: &Record<T>,
    path: &FilePath,
) -> Result<(), Error> {
    let bytes = to_safetensors_with_record(net, record)?;
    write_atomic(path, &bytes)
}

/// What a checkpoint holds, read and checked against the network and optimizer before any
/// of them is changed.
pub(crate) struct Loaded<T> {
    params: Vec<Vec<T>>,
    optimizer: OptimizerState<T>,
    counters: BTreeMap<String, u64>,
    pub(crate) record: Record<T>,
}

/// Reads the checkpoint at `path` for `net` and `optimizer`.
///
/// # Errors
/// [`Error::Io`] / [`Error::Weights`] for a file that cannot be read or is not of this
/// network (a tensor missing, of another shape); [`Error::Checkpoint`] for a weights file
/// that is no checkpoint, or one that lacks what the run needs; [`Error::OptimizerState`] for a
/// checkpoint of another optimizer.
pub(crate) fn read<T, N, Opt, const I: usize, const O: usize>(
    net: &mut N,
    optimizer: &Opt,
    path: &FilePath,
) -> Result<Loaded<T>, Error>
where
    T: Scalar,
    N: Layer<T, I, O>,
    Opt: Optimizer<T>,
{
    let bytes = read_regular_file(path, size_limit(net.num_params(), size_of::<T>()))?;
    let (params, record) =
        decode_with_record(net, &bytes).map_err(|problem| Error::Weights { problem }.at(path))?;
    if record.get_opt::<u32>(MARK)?.is_none() {
        return Err(Error::Checkpoint {
            problem: format!(
                "{} holds weights only, not a training checkpoint (load it with \
                 `io::load_safetensors`)",
                path.display()
            ),
        });
    }
    let mut state = optimizer.state();
    let (kind, buffers): (String, String) =
        (record.get("optimizer")?, record.get("optimizer.buffers")?);
    if kind != state.optimizer || buffers != state.buffer_names.join(",") {
        return Err(Error::OptimizerState {
            tensor: String::new(),
            problem: format!(
                "the checkpoint is of {kind} (buffers [{buffers}]), this run's optimizer is {} \
                 (buffers [{}])",
                state.optimizer,
                state.buffer_names.join(", ")
            ),
        });
    }
    state.steps = record.get("optimizer.steps")?;
    let held: usize = record.get("optimizer.tensors")?;
    let mut tensors = Vec::new();
    let mut problem = None;
    net.visit_params(&Path::ROOT, &mut |p| {
        if !p.role.is_learned() || tensors.len() == held || problem.is_some() {
            return;
        }
        let name = p.full_name().to_string();
        let buffers = state
            .buffer_names
            .iter()
            .map(|b| record.param_like(&format!("optimizer.{name}.{b}"), p.shape))
            .collect::<Result<Vec<_>, _>>();
        match buffers {
            Ok(buffers) => tensors.push(TensorState {
                name,
                shape: p.shape,
                buffers,
            }),
            Err(e) => problem = Some(e),
        }
    });
    if let Some(e) = problem {
        return Err(e);
    }
    if tensors.len() != held {
        return Err(Error::OptimizerState {
            tensor: String::new(),
            problem: format!(
                "the checkpoint has state for {held} tensors, the network {}",
                tensors.len()
            ),
        });
    }
    state.tensors = tensors;
    let counters = record
        .values
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("layers.")?.to_string(), v.parse().ok()?)))
        .collect();
    Ok(Loaded {
        params,
        optimizer: state,
        counters,
        record,
    })
}

/// Puts what [`read`] found into the network and the optimizer (the callbacks and the
/// trainer's progress are the caller's).
pub(crate) fn apply<T, N, Opt, const I: usize, const O: usize>(
    loaded: Loaded<T>,
    net: &mut N,
    optimizer: &mut Opt,
) -> Result<Record<T>, Error>
where
    T: Scalar,
    N: Layer<T, I, O>,
    Opt: Optimizer<T>,
{
    optimizer.load_state(loaded.optimizer)?;
    write_params(net, loaded.params);
    let counters = loaded.counters;
    net.visit_state(
        &Path::ROOT,
        &mut StateOp::Load(&mut |name| counters.get(name).copied()),
    );
    Ok(loaded.record)
}
