"""Runs constnet's ONNX exports in ONNX Runtime and compares with constnet's own outputs.

    python3 tests/onnx/check.py DIR [--tolerance 1e-5]

DIR holds, for each NAME, NAME.onnx, NAME.in and NAME.out: the model, a batch of inputs and
constnet's outputs on them, little-endian, row-major [batch, values], f32 (or f64 for a model
whose input is DOUBLE). Each model must pass the ONNX checker (full_check: shapes inferred),
declare a dynamic batch dimension, and give outputs within the tolerance of constnet's:
|onnxruntime - constnet| <= tolerance x max(1, largest |constnet| output of the sample) for
every value (absolute for outputs below 1, relative to the sample's outputs above). Exits 1
on the first failure, naming it.

tests/onnx.rs writes a zoo of every layer this way (CONSTNET_ONNX_ZOO=DIR); CI also writes
the MNIST models and their outputs on the 10,000 test images (`--outputs` of the examples).
"""

import argparse
import pathlib
import sys

import numpy as np
import onnx
import onnxruntime as ort


def check(model_path: pathlib.Path, tolerance: float) -> str:
    model = onnx.load(str(model_path))
    onnx.checker.check_model(model, full_check=True)
    graph = model.graph
    (input_info,) = graph.input
    (output_info,) = graph.output
    batch = input_info.type.tensor_type.shape.dim[0]
    if batch.dim_param == "" or batch.HasField("dim_value"):
        raise AssertionError(f"{model_path.name}: the batch dimension is not dynamic")
    dims = [d.dim_value for d in input_info.type.tensor_type.shape.dim[1:]]
    double = input_info.type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    dtype = np.dtype("<f8" if double else "<f4")
    x = np.fromfile(model_path.with_suffix(".in"), dtype=dtype)
    expected = np.fromfile(model_path.with_suffix(".out"), dtype=dtype)
    per_sample = int(np.prod(dims))
    n = x.size // per_sample
    x = x.reshape([n, *dims])
    expected = expected.reshape(n, -1)
    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    (y,) = session.run([output_info.name], {input_info.name: x})
    if y.shape != expected.shape:
        raise AssertionError(f"{model_path.name}: output {y.shape}, constnet's {expected.shape}")
    ours = expected.astype(np.float64)
    error = np.abs(y.astype(np.float64) - ours)
    diff = float(np.max(error))
    # Per sample, relative to its largest output where that is above 1 in size: two f32
    # runtimes that sum a 784-long product in different orders differ by a few units in the
    # last place of the terms, which is not small next to an output near zero.
    scale = np.maximum(1.0, np.max(np.abs(ours), axis=1, keepdims=True))
    relative = error / scale
    scaled = float(np.max(relative))
    if not scaled <= tolerance:
        worst = np.unravel_index(int(np.argmax(relative)), relative.shape)
        raise AssertionError(
            f"{model_path.name}: difference {error[worst]:.3g} in sample {worst[0]}, whose "
            f"largest output is {scale[worst[0], 0]:.4g}: more than {tolerance:g} of it"
        )
    agree = ""
    if expected.shape[1] > 1:
        same = int(np.sum(np.argmax(y, axis=1) == np.argmax(expected, axis=1)))
        agree = f", same class for {same}/{n}"
    ops = sorted({node.op_type for node in graph.node})
    return (
        f"{model_path.name}: {n} samples, largest difference {diff:.3g} "
        f"({scaled:.3g} of the sample's largest output){agree} "
        f"(opset {model.opset_import[0].version}: {', '.join(ops)})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=pathlib.Path)
    parser.add_argument("--tolerance", type=float, default=1e-5)
    args = parser.parse_args()
    models = sorted(args.dir.glob("*.onnx"))
    if not models:
        print(f"no .onnx files in {args.dir}", file=sys.stderr)
        return 1
    print(f"onnx {onnx.__version__}, onnxruntime {ort.__version__}")
    for path in models:
        try:
            print(check(path, args.tolerance))
        except Exception as e:  # noqa: BLE001 - report any failure with the model's name
            print(f"FAILED {path.name}: {e}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
