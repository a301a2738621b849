"""Runs constnet's ONNX exports in ONNX Runtime and compares with constnet's own outputs.

    python3 tests/onnx/check.py DIR [--tolerance 1e-5]

DIR holds, for each NAME, NAME.onnx, NAME.in and NAME.out: the model, a batch of inputs and
constnet's outputs on them, little-endian, row-major [batch, values], f32 (or f64 for a model
whose input is DOUBLE). Each model must pass the ONNX checker (full_check: shapes inferred),
declare a dynamic batch dimension, and give outputs within the tolerance of constnet's
(absolute, on every value). Exits 1 on the first failure, naming it.

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
    diff = float(np.max(np.abs(y.astype(np.float64) - expected.astype(np.float64))))
    if not diff <= tolerance:
        raise AssertionError(
            f"{model_path.name}: largest difference {diff:.3g} > {tolerance:g} "
            f"on {n} samples"
        )
    agree = ""
    if expected.shape[1] > 1:
        same = int(np.sum(np.argmax(y, axis=1) == np.argmax(expected, axis=1)))
        agree = f", same class for {same}/{n}"
    ops = sorted({node.op_type for node in graph.node})
    return (
        f"{model_path.name}: {n} samples, largest difference {diff:.3g}{agree} "
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
