"""PyTorch's side of the CNN speed comparison in the README (not run by CI).

    python3 tests/pytorch/cnn_speed.py [--epochs N] [--data-dir data/mnist]

Trains PyTorch's nn.Sequential of the reference CNN (the mnist_cnn example's network) with
Adam at batch 64 on one thread, timing each epoch; then times inference on the 10,000 test
images in batches of 1,000 (best of five runs) and prints images per second. Also measures
the same-run peak: a 1024^3 float32 matrix product.
"""
import argparse
import gzip
import time

import numpy as np
import torch
from torch import nn

p = argparse.ArgumentParser()
p.add_argument("--epochs", type=int, default=1)
p.add_argument("--data-dir", default="data/mnist")
p.add_argument("--load", help="a safetensors file saved by mnist_cnn --save: report its test accuracy")
args = p.parse_args()
torch.set_num_threads(1)
torch.manual_seed(0)


def idx(path, offset):
    with gzip.open(path) as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


d = args.data_dir
train_x = torch.tensor(idx(f"{d}/train-images-idx3-ubyte.gz", 16), dtype=torch.float32).reshape(-1, 1, 28, 28) / 255
train_y = torch.tensor(idx(f"{d}/train-labels-idx1-ubyte.gz", 8), dtype=torch.long)
test_x = torch.tensor(idx(f"{d}/t10k-images-idx3-ubyte.gz", 16), dtype=torch.float32).reshape(-1, 1, 28, 28) / 255
test_y = torch.tensor(idx(f"{d}/t10k-labels-idx1-ubyte.gz", 8), dtype=torch.long)

net = nn.Sequential(
    nn.Conv2d(1, 8, 5), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(8, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(256, 64), nn.ReLU(), nn.Linear(64, 10),
)


def accuracy():
    net.eval()
    with torch.no_grad():
        return (net(test_x).argmax(1) == test_y).float().mean().item()


if args.load:
    from safetensors.torch import load_file
    net.load_state_dict(load_file(args.load), strict=True)
    print(f"test accuracy {100 * accuracy():.2f}% with the weights of {args.load}")
    raise SystemExit

a = torch.randn(1024, 1024)
b = torch.randn(1024, 1024)
best = min((lambda t0: (a @ b, time.perf_counter() - t0)[1])(time.perf_counter()) for _ in range(20))
print(f"peak: 1024^3 product {2 * 1024**3 / best / 1e9:.1f} GFLOP/s on one thread")

opt = torch.optim.Adam(net.parameters(), lr=3e-3)
loss_fn = nn.CrossEntropyLoss()
for epoch in range(args.epochs):
    net.train()
    order = torch.randperm(len(train_x))
    t0 = time.perf_counter()
    for i in range(0, len(train_x), 64):
        batch = order[i:i + 64]
        opt.zero_grad()
        loss = loss_fn(net(train_x[batch]), train_y[batch])
        loss.backward()
        opt.step()
    print(f"epoch {epoch + 1}: {time.perf_counter() - t0:.2f} s, test accuracy {100 * accuracy():.2f}%")

net.eval()
times = []
with torch.no_grad():
    for _ in range(5):
        t0 = time.perf_counter()
        for i in range(0, len(test_x), 1000):
            net(test_x[i:i + 1000])
        times.append(time.perf_counter() - t0)
print(f"inference: {len(test_x) / min(times):.0f} images/s (batch 1000, best of 5)")
