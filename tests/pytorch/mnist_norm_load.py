"""Loads weights saved by the mnist example into PyTorch and reports the test accuracy
(not run by CI):

    cargo run --release --example mnist -- --norm batch --save bn.safetensors
    python3 tests/pytorch/mnist_norm_load.py bn.safetensors --norm batch

builds PyTorch's nn.Sequential of the same modules (`--norm batch`: Linear, BatchNorm1d,
ReLU, Linear; `--residual`: Linear, [norm,] ReLU, a Residual module whose child `inner` is
nn.Sequential(Linear, [norm,] ReLU), Linear), loads the file with load_state_dict(strict=True)
and evaluates the 10,000 test images in evaluation mode (running statistics).
"""
import argparse
import gzip

import numpy as np
import torch
from safetensors.torch import load_file
from torch import nn

p = argparse.ArgumentParser()
p.add_argument("weights")
p.add_argument("--norm", choices=["none", "batch", "layer"], default="none")
p.add_argument("--layers", type=int, default=2)
p.add_argument("--residual", action="store_true")
p.add_argument("--data-dir", default="data/mnist")
args = p.parse_args()


class Residual(nn.Module):
    def __init__(self, *layers):
        super().__init__()
        self.inner = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.inner(x)


def norm(n):
    return {"none": [], "batch": [nn.BatchNorm1d(n)], "layer": [nn.LayerNorm(n)]}[args.norm]


if args.residual:
    modules = [nn.Linear(784, 256), *norm(256), nn.ReLU(),
               Residual(nn.Linear(256, 256), *norm(256), nn.ReLU()), nn.Linear(256, 10)]
elif args.layers == 2:
    modules = [nn.Linear(784, 256), *norm(256), nn.ReLU(), nn.Linear(256, 10)]
else:
    modules = [nn.Linear(784, 256), *norm(256), nn.ReLU(),
               nn.Linear(256, 128), *norm(128), nn.ReLU(), nn.Linear(128, 10)]
net = nn.Sequential(*modules)
net.load_state_dict(load_file(args.weights), strict=True)
net.eval()


def idx(path, offset):
    with gzip.open(path) as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


d = args.data_dir
x = torch.tensor(idx(f"{d}/t10k-images-idx3-ubyte.gz", 16), dtype=torch.float32).reshape(-1, 784) / 255
y = torch.tensor(idx(f"{d}/t10k-labels-idx1-ubyte.gz", 8), dtype=torch.long)
with torch.no_grad():
    accuracy = (net(x).argmax(1) == y).float().mean().item()
print(f"PyTorch {torch.__version__}, strict load of {args.weights}: test accuracy {100 * accuracy:.2f}%")
