"""Prints the PyTorch reference values kept in src/nn/layers/conv.rs and pool.rs tests.

Run once with PyTorch installed (not by CI):
    python3 tests/pytorch/conv_reference.py
The inputs are formulas that the Rust tests compute the same way, in float64.
"""
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def x_at(i):
    return ((i * 7) % 13) / 4.0 - 1.5


def w_at(i):
    return ((i * 5) % 11) / 5.0 - 1.0


def dy_at(i):
    return ((i * 3) % 7) / 3.0 - 1.0


def filled(shape, f):
    n = 1
    for d in shape:
        n *= d
    return torch.tensor([f(i) for i in range(n)]).reshape(shape)


def show(name, t):
    values = ", ".join(repr(float(v)) for v in t.detach().flatten())
    print(f"const {name}: [f64; {t.numel()}] = [{values}];")


def conv2d_case():
    x = filled((1, 2, 5, 6), x_at).requires_grad_()
    w = filled((3, 2, 3, 3), w_at).requires_grad_()
    b = torch.tensor([-0.1, 0.0, 0.1], requires_grad=True)
    y = F.conv2d(x, w, b, stride=2, padding=1)
    dy = filled(tuple(y.shape), dy_at)
    y.backward(dy)
    print("// conv2d: 2 -> 3 channels, 3x3, stride 2, padding 1, on 2x5x6; output", tuple(y.shape))
    show("CONV2D_Y", y)
    show("CONV2D_DX", x.grad)
    show("CONV2D_DW", w.grad)
    show("CONV2D_DB", b.grad)


def conv1d_case():
    x = filled((1, 2, 9), x_at).requires_grad_()
    w = filled((2, 2, 4), w_at).requires_grad_()
    y = F.conv1d(x, w, None, stride=2, padding=2)
    dy = filled(tuple(y.shape), dy_at)
    y.backward(dy)
    print("// conv1d: 2 -> 2 channels, kernel 4, stride 2, padding 2, no bias, on 2x9; output", tuple(y.shape))
    show("CONV1D_Y", y)
    show("CONV1D_DX", x.grad)
    show("CONV1D_DW", w.grad)


def pool_cases():
    # Ties on purpose: values repeat every 13 inputs, and rounding to halves makes more.
    x = (filled((1, 2, 5, 7), x_at) * 2).round() / 2
    for name, f in [("MAX", F.max_pool2d), ("AVG", F.avg_pool2d)]:
        xg = x.clone().requires_grad_()
        y = f(xg, 3, 2)
        dy = filled(tuple(y.shape), dy_at)
        y.backward(dy)
        print(f"// {name.lower()}_pool2d(3, stride 2) on 2x5x7 (inputs rounded to halves, with ties); output", tuple(y.shape))
        show(f"{name}POOL2D_Y", y)
        show(f"{name}POOL2D_DX", xg.grad)
    x = (filled((1, 2, 10), x_at) * 2).round() / 2
    for name, f in [("MAX", F.max_pool1d), ("AVG", F.avg_pool1d)]:
        xg = x.clone().requires_grad_()
        y = f(xg, 3, 2)
        dy = filled(tuple(y.shape), dy_at)
        y.backward(dy)
        print(f"// {name.lower()}_pool1d(3, stride 2) on 2x10; output", tuple(y.shape))
        show(f"{name}POOL1D_Y", y)
        show(f"{name}POOL1D_DX", xg.grad)


print("// torch", torch.__version__)
conv2d_case()
conv1d_case()
pool_cases()
