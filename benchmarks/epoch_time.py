"""Epoch time of nnstudio's default configuration against a plain seed-style NumPy version
and PyTorch, measured side by side in one run, plus the epoch's matrix products alone.

    NNSTUDIO_DATA=../shared/mnist python benchmarks/epoch_time.py [--rounds 3]

Every contender trains the seed's network (784-128-64-10, ReLU, SGD lr 0.1, batch 64) on
the same 54,000 images with one BLAS thread; rounds interleave the contenders so a busy
moment of the machine hits all of them alike. Each figure is the median over rounds of
one epoch's wall time, training plus validation.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

from nnstudio.core.config import TrainingConfig
from nnstudio.core.dataset import Split, split_mnist
from nnstudio.core.mnist import load_mnist, resolve_data_dir
from nnstudio.core.trainer import Trainer

SIZES = (784, 128, 64, 10)
BATCH = 64
LR = 0.1


def nnstudio_epoch(data: Split, trainer: Trainer) -> float:
    list(trainer.run(max_epochs=1))
    return trainer.history[-1].seconds


def matrix_products_epoch(data: Split) -> float:
    """Only the float32 matrix products one epoch of batch-64 backpropagation needs."""
    rng = np.random.default_rng(0)
    w = [rng.standard_normal((a, b), dtype=np.float32) for a, b in zip(SIZES[:-1], SIZES[1:])]
    x = rng.random((BATCH, SIZES[0]), dtype=np.float32)
    h1 = rng.random((BATCH, SIZES[1]), dtype=np.float32)
    h2 = rng.random((BATCH, SIZES[2]), dtype=np.float32)
    d3 = rng.random((BATCH, SIZES[3]), dtype=np.float32)
    d2 = rng.random((BATCH, SIZES[2]), dtype=np.float32)
    d1 = rng.random((BATCH, SIZES[1]), dtype=np.float32)
    batches = -(-len(data.x_train) // BATCH)
    val = rng.random((2000, SIZES[0]), dtype=np.float32)
    started = time.perf_counter()
    for _ in range(batches):
        x @ w[0], h1 @ w[1], h2 @ w[2]  # forward
        h2.T @ d3, h1.T @ d2, x.T @ d1  # weight gradients
        d3 @ w[2].T, d2 @ w[1].T  # deltas
    for _ in range(len(data.x_val) // 2000):  # validation forward pass
        np.maximum(val @ w[0], 0) @ w[1] @ w[2]
    return time.perf_counter() - started


class SeedStyle:
    """The seed project's algorithm as it was first written: float64, a fresh array for every
    step, and a second pass over the whole training set each epoch for its loss and accuracy."""

    def __init__(self, data: Split) -> None:
        rng = np.random.default_rng(0)
        self.x = data.x_train.astype(np.float64) / 255
        self.y = data.y_train
        self.xv = data.x_val.astype(np.float64) / 255
        self.yv = data.y_val
        self.w = [rng.standard_normal((a, b)) * np.sqrt(2 / a) for a, b in zip(SIZES[:-1], SIZES[1:])]
        self.b = [np.zeros(b) for b in SIZES[1:]]
        self.rng = rng

    def forward(self, x):
        acts = [x]
        for i, (w, b) in enumerate(zip(self.w, self.b)):
            z = acts[-1] @ w + b
            acts.append(np.maximum(z, 0) if i < len(self.w) - 1 else z)
        return acts

    @staticmethod
    def softmax(z):
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def loss_accuracy(self, x, y):
        p = self.softmax(self.forward(x)[-1])
        return -np.mean(np.log(p[np.arange(len(y)), y] + 1e-12)), np.mean(p.argmax(axis=1) == y)

    def epoch(self) -> float:
        started = time.perf_counter()
        order = self.rng.permutation(len(self.x))
        for start in range(0, len(order), BATCH):
            idx = order[start:start + BATCH]
            acts = self.forward(self.x[idx])
            onehot = np.eye(10)[self.y[idx]]
            delta = (self.softmax(acts[-1]) - onehot) / len(idx)
            for i in range(len(self.w) - 1, -1, -1):
                dw = acts[i].T @ delta
                db = delta.sum(axis=0)
                if i:
                    delta = (delta @ self.w[i].T) * (acts[i] > 0)
                self.w[i] = self.w[i] - LR * dw
                self.b[i] = self.b[i] - LR * db
        self.loss_accuracy(self.x, self.y)  # the seed's re-evaluation of the training set
        self.loss_accuracy(self.xv, self.yv)
        return time.perf_counter() - started


class TorchStyle:
    """The same MLP and SGD in PyTorch on the CPU (one thread), data held as tensors."""

    def __init__(self, data: Split) -> None:
        import torch

        torch.set_num_threads(1)
        torch.manual_seed(0)
        self.torch = torch
        self.x = torch.from_numpy(data.x_train.astype(np.float32) / 255)
        self.y = torch.from_numpy(data.y_train.astype(np.int64))
        self.xv = torch.from_numpy(data.x_val.astype(np.float32) / 255)
        self.yv = torch.from_numpy(data.y_val.astype(np.int64))
        nn = torch.nn
        self.model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=LR)
        self.loss = nn.CrossEntropyLoss()

    def epoch(self) -> float:
        torch = self.torch
        started = time.perf_counter()
        order = torch.randperm(len(self.x))
        for start in range(0, len(order), BATCH):
            idx = order[start:start + BATCH]
            self.optimizer.zero_grad(set_to_none=True)
            loss = self.loss(self.model(self.x[idx]), self.y[idx])
            loss.backward()
            self.optimizer.step()
        with torch.no_grad():
            self.loss(self.model(self.xv), self.yv)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data-dir")
    args = parser.parse_args()
    data = split_mnist(load_mnist(resolve_data_dir(args.data_dir)))
    contenders = {}
    with threadpool_limits(limits=1):
        trainer = Trainer(TrainingConfig(), data)
        contenders["nnstudio"] = lambda: nnstudio_epoch(data, trainer)
        contenders["matrix products"] = lambda: matrix_products_epoch(data)
        seed = SeedStyle(data)
        contenders["seed-style float64"] = seed.epoch
        try:
            torch_style = TorchStyle(data)
            contenders["pytorch"] = torch_style.epoch
        except ImportError:
            print("pytorch: not installed (pip install torch==2.13.0 to compare)")
        times: dict[str, list[float]] = {name: [] for name in contenders}
        for name, run in contenders.items():  # one warm-up epoch each
            run()
        for r in range(args.rounds):
            for name, run in contenders.items():
                times[name].append(run())
            print(f"round {r + 1}: " + ", ".join(f"{n} {t[-1]:.3f}s" for n, t in times.items()), flush=True)
    median = {name: statistics.median(t) for name, t in times.items()}
    for name, t in median.items():
        print(f"{name:>20}: {t:.3f} s per epoch")
    ours = median["nnstudio"]
    print(f"seed-style / nnstudio = {median['seed-style float64'] / ours:.2f}  (aim >= 5)")
    if "pytorch" in median:
        print(f"pytorch / nnstudio = {median['pytorch'] / ours:.2f}  (aim >= 2.0)")
    print(f"nnstudio / matrix products = {ours / median['matrix products']:.2f}  (aim <= 1.5)")


if __name__ == "__main__":
    main()
