"""Prints the PyTorch trajectories kept in src/optim/mod.rs tests for AdamW and RMSprop.

Run once with PyTorch installed (not by CI):
    python3 tests/pytorch/optim_reference.py
The problem: a weight w of 5 values (weight decay applies) and a bias b of 2 values (no
decay: a parameter group of its own with weight_decay=0), float64, with gradient
c * (p - t) + 0.1 * sin(3 * p) at every step, set by hand before `step()`; starting points,
targets t and curvatures c are the formulas below, computed the same way in Rust. The
values of w and b after steps 1, 2, 10, 50 and 100 are printed.
"""
import math

import torch

torch.set_default_dtype(torch.float64)


def start(i):
    return ((i * 7) % 13) / 4.0 - 1.5


def target(i):
    return ((i * 5) % 11) / 5.0 - 1.0


def curvature(i):
    return 0.5 + ((i * 3) % 7) / 2.0


def grad(p, offset):
    t = torch.tensor([target(i + offset) for i in range(p.numel())])
    c = torch.tensor([curvature(i + offset) for i in range(p.numel())])
    return c * (p.detach() - t) + 0.1 * torch.sin(3.0 * p.detach())


def run(name, make):
    w = torch.tensor([start(i) for i in range(5)], requires_grad=True)
    b = torch.tensor([start(i + 5) for i in range(2)], requires_grad=True)
    opt = make(w, b)
    kept = []
    for step in range(1, 101):
        w.grad = grad(w, 0)
        b.grad = grad(b, 5)
        opt.step()
        if step in (1, 2, 10, 50, 100):
            kept.extend(float(v) for v in w.detach())
            kept.extend(float(v) for v in b.detach())
    values = ", ".join(repr(v) for v in kept)
    print(f"const {name}: [f64; {len(kept)}] = [{values}];")


def groups(w, b, decay):
    return [{"params": [w], "weight_decay": decay}, {"params": [b], "weight_decay": 0.0}]


print(f"// torch {torch.__version__}")
run("ADAMW_DEFAULT", lambda w, b: torch.optim.AdamW(groups(w, b, 0.01), lr=0.01))
run("ADAMW_STRONG", lambda w, b: torch.optim.AdamW(groups(w, b, 0.5), lr=0.05, betas=(0.8, 0.99), eps=1e-6))
run("RMSPROP_PLAIN", lambda w, b: torch.optim.RMSprop(groups(w, b, 0.0), lr=0.01))
run("RMSPROP_MOMENTUM", lambda w, b: torch.optim.RMSprop(groups(w, b, 0.0), lr=0.01, momentum=0.9))
run("RMSPROP_CENTERED", lambda w, b: torch.optim.RMSprop(groups(w, b, 0.0), lr=0.01, centered=True))
run(
    "RMSPROP_ALL",
    lambda w, b: torch.optim.RMSprop(
        groups(w, b, 0.05), lr=0.005, alpha=0.9, eps=1e-6, momentum=0.5, centered=True
    ),
)
