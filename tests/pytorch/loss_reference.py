"""Prints the PyTorch values kept in src/nn/loss.rs tests for label smoothing.

Run once with PyTorch installed (not by CI):
    python3 tests/pytorch/loss_reference.py
Logits x_at(i) (as in conv_reference.py) of 3 samples of 4 classes, labels 2, 0, 3, float64.
"""
import torch

torch.set_default_dtype(torch.float64)


def x_at(i):
    return ((i * 7) % 13) / 4.0 - 1.5


print(f"// torch {torch.__version__}")
for eps in (0.1, 0.3):
    z = torch.tensor([x_at(i) for i in range(12)]).reshape(3, 4).requires_grad_()
    loss = torch.nn.CrossEntropyLoss(label_smoothing=eps)(z, torch.tensor([2, 0, 3]))
    loss.backward()
    tag = f"SMOOTHED_{int(eps * 10)}"
    print(f"const {tag}_LOSS: f64 = {float(loss.detach())!r};")
    values = ", ".join(repr(float(v)) for v in z.grad.flatten())
    print(f"const {tag}_GRAD: [f64; 12] = [{values}];")
