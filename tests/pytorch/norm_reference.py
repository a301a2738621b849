"""Prints the PyTorch reference values kept in src/nn/layers/reference.rs for the
normalisation layers (BatchNorm1d, BatchNorm2d, LayerNorm).

Run once with PyTorch installed (not by CI):
    python3 tests/pytorch/norm_reference.py
The inputs are formulas that the Rust tests compute the same way, in float64
(x_at, w_at, dy_at as in conv_reference.py; a second batch uses x_at(i + 17)).
"""
import torch
import torch.nn as nn

torch.set_default_dtype(torch.float64)


def x_at(i):
    return ((i * 7) % 13) / 4.0 - 1.5


def w_at(i):
    return ((i * 5) % 11) / 5.0 - 1.0


def dy_at(i):
    return ((i * 3) % 7) / 3.0 - 1.0


def filled(shape, f, offset=0):
    n = 1
    for d in shape:
        n *= d
    return torch.tensor([f(i + offset) for i in range(n)]).reshape(shape)


def show(name, t):
    t = torch.as_tensor(t)
    values = ", ".join(repr(float(v)) for v in t.detach().flatten())
    print(f"pub(crate) const {name}: [f64; {t.numel()}] = [{values}];")


def affine(module, c):
    with torch.no_grad():
        module.weight.copy_(torch.tensor([1.0 + 0.25 * w_at(i) for i in range(c)]))
        module.bias.copy_(torch.tensor([0.5 * x_at(i + 3) for i in range(c)]))


def batch_norm_case(name, module, shape, momentum_none=False):
    c = shape[1]
    affine(module, c)
    module.train()
    # Step 1: forward and backward of the first batch (gradients recorded).
    x = filled(shape, x_at).requires_grad_()
    y = module(x)
    dy = filled(tuple(y.shape), dy_at)
    y.backward(dy)
    show(f"{name}_Y", y)
    show(f"{name}_DX", x.grad)
    show(f"{name}_DW", module.weight.grad)
    show(f"{name}_DB", module.bias.grad)
    # Steps 2 and 3: two more batches move the running statistics.
    for offset in (17, 29):
        module(filled(shape, x_at, offset))
    show(f"{name}_RUNNING_MEAN", module.running_mean)
    show(f"{name}_RUNNING_VAR", module.running_var)
    print(f"pub(crate) const {name}_BATCHES: u64 = {int(module.num_batches_tracked)};")
    # Evaluation mode: the running statistics, on the first batch.
    module.eval()
    x = filled(shape, x_at).requires_grad_()
    y = module(x)
    y.backward(dy)
    show(f"{name}_EVAL_Y", y)
    show(f"{name}_EVAL_DX", x.grad)


print("// BatchNorm1d(3) on a batch of 4, momentum 0.1")
batch_norm_case("BN1", nn.BatchNorm1d(3), (4, 3))
print("// BatchNorm1d(3) on a batch of 4, momentum None (cumulative average)")
batch_norm_case("BN1_CUMULATIVE", nn.BatchNorm1d(3, momentum=None), (4, 3))
print("// BatchNorm2d(2) on a batch of 3 of 2x2x3")
batch_norm_case("BN2", nn.BatchNorm2d(2), (3, 2, 2, 3))

print("// LayerNorm(5) on a batch of 3")
ln = nn.LayerNorm(5)
affine(ln, 5)
x = filled((3, 5), x_at).requires_grad_()
y = ln(x)
dy = filled((3, 5), dy_at)
y.backward(dy)
show("LN_Y", y)
show("LN_DX", x.grad)
show("LN_DW", ln.weight.grad)
show("LN_DB", ln.bias.grad)
