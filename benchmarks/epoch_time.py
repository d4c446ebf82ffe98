"""Epoch time of nnstudio against its own matrix products and PyTorch CPU, side by side in one run.

    NNSTUDIO_DATA=../shared/mnist python benchmarks/epoch_time.py [--net seed,wide] [--threads 1,2] [--rounds 5]

Nets: ``seed`` is the seed's 784-128-64-10 with batch 64, ``wide`` is 784-800-800-10 with
batch 128; both ReLU, SGD lr 0.1 (``--momentum`` adds momentum). At each thread count every
contender trains one epoch on the same 54,000 images, BLAS held to that many threads
(threadpoolctl; PyTorch by ``torch.set_num_threads``):

- nnstudio: the real :class:`Trainer`, its ``threads`` set to the same count;
- matrix products: only the float32 products that epoch needs (forward, weight gradients,
  deltas, validation forward), written into reused arrays: the floor for any NumPy engine.
  It is fair, neither handicapped nor favoured: the same products at the same shapes and thread
  count as nnstudio's (whose carry one more row or column for the biases, +0.1% of the
  multiply-adds), each batch's inputs read from one reused buffer as nnstudio's gathered batch is,
  the validation forward in chunks of 2,000 as ``Network.evaluate``'s. What it leaves out is what
  an engine does besides its products: the gather, activations, softmax, the update (nnstudio adds
  it inside the gradient product, which then reads the weights as well as writing them), validation
  and diagnostics;
- PyTorch CPU, when installed: the same MLP and SGD;
- seed-style float64 NumPy (``--seed-style``, seed net, one thread): the seed project's code;
- nnstudio with augmentation (``--augment``): the same trainer distorting every image with
  rotation ±10°, scale ±10%, shear ±10°, shift ±2 px and elastic distortion 34,4, distorted ahead
  in chunks by helper processes as a run does, epoch after epoch of one run ("prefetch": the
  overlapped epoch) and, for
  comparison, in line on the trainer's thread ("in line"); the distortion alone ("distortion
  CPU"): the CPU time of distorting the epoch's 54,000 images as the trainer does in line, which
  is what the pipeline costs when no core is free, against the CPU time of a plain epoch ("plain
  CPU"); and the overlapped epoch's wall time less the time the trainer's thread waited for a
  free core ("prefetch, a core each": Linux's schedstat; its CPU time elsewhere): its CPU time
  plus its waits for the GIL and for the helpers, what the overlapped epoch takes when each
  thread has a core, measured even on a busy machine, against the plain epoch's CPU time (one
  thread: the same measure); and the plain epoch while another process keeps one core busy with
  a loop that touches no memory ("plain, a core busy"): what work on another core costs the
  trainer on this machine whatever that work is, so the floor of the overlapped epoch. Each is
  reported as its ratio to the plain epoch of the same round (median, and the range over rounds).

Rounds interleave every contender at every thread count, so a busy moment of the machine hits
all of them alike; each figure is the median over rounds of one epoch's wall time, training
plus validation. The table gives the ratios to the matrix products and the share of the
epoch spent outside them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time

import numpy as np
from threadpoolctl import threadpool_limits

from nnstudio.core.config import TrainingConfig
from nnstudio.core.dataset import Split, split_mnist
from nnstudio.core.mnist import load_mnist, resolve_data_dir
from nnstudio.core.trainer import EpochReport, Trainer

NETS = {"seed": ((784, 128, 64, 10), 64), "wide": ((784, 800, 800, 10), 128)}
LR = 0.1
VAL_CHUNK = 2000  # as Network.evaluate


def distortion_cpu(data: Split, batch: int):
    """The CPU seconds of distorting one epoch's training images, batch by batch, as the trainer does."""
    from nnstudio.core.augment import Augmentation, Augmenter
    from nnstudio.core.prefetcher import Prefetcher

    augmenter = Augmenter(Augmentation(rotate=10, scale=0.1, shear=10, shift=2, elastic_alpha=34, elastic_sigma=4),
                          data.image_shape, seed=0)
    prefetcher = Prefetcher(augmenter, data.x_train, workers=0)  # in line, chunk by chunk, as the trainer
    order = np.random.default_rng(0).permutation(len(data.x_train))
    out = np.empty((batch, data.x_train.shape[1]), np.float32)
    epochs = iter(range(1, 10 ** 6))

    def epoch() -> float:
        started, number = time.process_time(), next(epochs)
        for b, start in enumerate(range(0, len(order), batch)):
            prefetcher.take(number, order, b, batch, out[:len(order[start:start + batch])])
        return time.process_time() - started

    return epoch


def cpu_of(run) -> float:
    """The CPU seconds ``run()`` takes (the process's: every thread)."""
    started = time.process_time()
    run()
    return time.process_time() - started


def nnstudio_epoch(trainer: Trainer) -> float:
    list(trainer.run(max_epochs=1))
    return trainer.history[-1].seconds


class EpochAfterEpoch:
    """One long run, an epoch per call: its helpers start once, as in a run, not every epoch."""

    def __init__(self, trainer: Trainer) -> None:
        self.trainer, self.run = trainer, trainer.run(max_epochs=10_000)

    def __call__(self) -> float:
        for event in self.run:
            if isinstance(event, EpochReport):
                return self.trainer.history[-1].seconds
        raise RuntimeError("the run ended")


def beside_a_busy_loop(run) -> float:
    """``run()``'s result while another process keeps one core busy with a loop that touches no
    memory: what any work on a second core costs the trainer on this machine (shared caches, a
    shared turbo budget, or virtual cores on one physical core), the floor of any overlapped design."""
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)  # running before the epoch starts
        return run()
    finally:
        hog.kill()
        hog.wait()


def unqueued_of(run) -> float:
    """The wall seconds of ``run()`` less the time this thread waited for a free core (Linux's
    schedstat), or this thread's CPU seconds where that is not kept."""
    path = f"/proc/self/task/{threading.get_native_id()}/schedstat"

    def queued() -> float:
        with open(path) as f:
            return int(f.read().split()[1]) / 1e9

    try:
        before = queued()
    except (OSError, ValueError, IndexError):
        started = time.thread_time()
        run()
        return time.thread_time() - started
    started = time.perf_counter()
    run()
    return time.perf_counter() - started - (queued() - before)


class MatrixProducts:
    """Only the float32 matrix products of one epoch of backpropagation, into reused arrays."""

    def __init__(self, data: Split, sizes: tuple[int, ...], batch: int) -> None:
        rng = np.random.default_rng(0)
        self.sizes, self.batch = sizes, batch
        self.n, self.n_val = len(data.x_train), len(data.x_val)
        self.w = [rng.standard_normal((a, b), dtype=np.float32) for a, b in zip(sizes[:-1], sizes[1:])]
        self.g = [np.empty_like(w) for w in self.w]
        rows = max(batch, VAL_CHUNK)
        self.a = [rng.random((rows, s), dtype=np.float32) for s in sizes]  # layer outputs
        self.d = [rng.random((rows, s), dtype=np.float32) for s in sizes]  # deltas

    def epoch(self) -> float:
        w, g, a, d = self.w, self.g, self.a, self.d
        layers = len(w)
        started = time.perf_counter()
        for start in range(0, self.n, self.batch):
            m = min(self.batch, self.n - start)
            for i in range(layers):  # forward
                np.matmul(a[i][:m], w[i], out=a[i + 1][:m])
            for i in range(layers - 1, -1, -1):  # weight gradients and deltas
                np.matmul(a[i][:m].T, d[i + 1][:m], out=g[i])
                if i:
                    np.matmul(d[i + 1][:m], w[i].T, out=d[i][:m])
        for start in range(0, self.n_val, VAL_CHUNK):  # validation forward pass
            m = min(VAL_CHUNK, self.n_val - start)
            for i in range(layers):
                np.matmul(a[i][:m], w[i], out=a[i + 1][:m])
        return time.perf_counter() - started


class SeedStyle:
    """The seed project's algorithm as it was first written: float64, a fresh array for every
    step, and a second pass over the whole training set each epoch for its loss and accuracy."""

    def __init__(self, data: Split, sizes: tuple[int, ...], batch: int) -> None:
        rng = np.random.default_rng(0)
        self.batch = batch
        self.x = data.x_train.astype(np.float64) / 255
        self.y = data.y_train
        self.xv = data.x_val.astype(np.float64) / 255
        self.yv = data.y_val
        self.w = [rng.standard_normal((a, b)) * np.sqrt(2 / a) for a, b in zip(sizes[:-1], sizes[1:])]
        self.b = [np.zeros(b) for b in sizes[1:]]
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
        for start in range(0, len(order), self.batch):
            idx = order[start:start + self.batch]
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
    """The same MLP and SGD in PyTorch on the CPU, data held as tensors."""

    def __init__(self, data: Split, sizes: tuple[int, ...], batch: int, momentum: float, threads: int) -> None:
        import torch

        torch.manual_seed(0)
        self.torch, self.batch, self.threads = torch, batch, threads
        self.x = torch.from_numpy(data.x_train.astype(np.float32) / 255)
        self.y = torch.from_numpy(data.y_train.astype(np.int64))
        self.xv = torch.from_numpy(data.x_val.astype(np.float32) / 255)
        self.yv = torch.from_numpy(data.y_val.astype(np.int64))
        nn = torch.nn
        layers = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        self.model = nn.Sequential(*layers[:-1])
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=LR, momentum=momentum)
        self.loss = nn.CrossEntropyLoss()

    def epoch(self) -> float:
        torch = self.torch
        torch.set_num_threads(self.threads)
        started = time.perf_counter()
        order = torch.randperm(len(self.x))
        for start in range(0, len(order), self.batch):
            idx = order[start:start + self.batch]
            self.optimizer.zero_grad(set_to_none=True)
            loss = self.loss(self.model(self.x[idx]), self.y[idx])
            loss.backward()
            self.optimizer.step()
        with torch.no_grad():
            self.loss(self.model(self.xv), self.yv)
        return time.perf_counter() - started


def int_list(text: str) -> list[int]:
    values = [int(part) for part in text.split(",") if part.strip()]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give thread counts such as 1,2,4")
    return values


def net_list(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names or any(name not in NETS for name in names):
        raise argparse.ArgumentTypeError(f"{text!r}: nets are {', '.join(NETS)}")
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--net", type=net_list, default=["seed"], help="seed, wide or seed,wide (default seed)")
    parser.add_argument("--threads", type=int_list, default=[1], help="thread counts, e.g. 1,2 (default 1)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--momentum", type=float, default=0.0, help="SGD momentum of every contender (default 0)")
    parser.add_argument("--seed-style", action="store_true", help="also time the seed's float64 code (seed net, 1 thread)")
    parser.add_argument("--augment", action="store_true", help="also time nnstudio with affine + elastic augmentation")
    parser.add_argument("--data-dir")
    args = parser.parse_args()
    data = split_mnist(load_mnist(resolve_data_dir(args.data_dir)))
    try:
        import torch  # noqa: F401
        have_torch = True
    except ImportError:
        have_torch = False
        print("pytorch: not installed (pip install torch to compare)")
    print(f"{os.cpu_count()} cores · numpy {np.__version__} · load average {os.getloadavg()[0]:.2f} at start", flush=True)
    contenders: dict[tuple[str, int, str], object] = {}
    runs: dict[Trainer, EpochAfterEpoch] = {}  # closed at the end: their helpers end
    for net in args.net:
        sizes, batch = NETS[net]
        config = TrainingConfig(hidden=sizes[1:-1], batch_size=batch, learning_rate=LR, momentum=args.momentum,
                                patience=0)
        products = MatrixProducts(data, sizes, batch)
        for threads in args.threads:
            trainer = Trainer(config, data, threads=threads)
            contenders[net, threads, "nnstudio"] = lambda trainer=trainer: nnstudio_epoch(trainer)
            if args.augment:
                distorted = config.replace(augment_rotate=10, augment_scale=0.1, augment_shear=10,
                                           augment_shift=2, elastic_alpha=34, elastic_sigma=4)
                for mode in ("prefetch", "in line"):
                    twin = Trainer(distorted, data, threads=threads)
                    twin.prefetch = mode == "prefetch"
                    contenders[net, threads, f"augment {mode}"] = runs[twin] = EpochAfterEpoch(twin)
                    if mode == "prefetch":
                        again = Trainer(distorted, data, threads=threads)
                        runs[again] = EpochAfterEpoch(again)
                        contenders[net, threads, "prefetch, a core each"] = lambda epoch=runs[again]: unqueued_of(epoch)
                if threads == args.threads[0]:
                    contenders[net, threads, "distortion CPU"] = distortion_cpu(data, batch)
                    plain_twin = Trainer(config, data, threads=threads)
                    contenders[net, threads, "plain CPU"] = lambda plain_twin=plain_twin: cpu_of(
                        lambda: nnstudio_epoch(plain_twin))
                    contenders[net, threads, "plain, a core busy"] = lambda plain_twin=plain_twin: (
                        beside_a_busy_loop(lambda: nnstudio_epoch(plain_twin)))
            contenders[net, threads, "matrix products"] = products.epoch
            if have_torch:
                contenders[net, threads, "pytorch"] = TorchStyle(data, sizes, batch, args.momentum, threads).epoch
        if args.seed_style and net == "seed" and 1 in args.threads:
            contenders[net, 1, "seed-style float64"] = SeedStyle(data, sizes, batch).epoch
    times: dict[tuple[str, int, str], list[float]] = {key: [] for key in contenders}
    for r in range(args.rounds + 1):  # round 0 warms up
        for key, run in contenders.items():
            with threadpool_limits(limits=key[1]):
                seconds = run()
            if r:
                times[key].append(seconds)
        if r:
            print(f"round {r}: " + ", ".join(f"{n}/{t}/{c} {v[-1]:.3f}s" for (n, t, c), v in times.items()),
                  flush=True)
    for epochs in runs.values():
        epochs.run.close()
    print(f"load average {os.getloadavg()[0]:.2f} at the end; medians of {args.rounds} rounds, seconds per epoch:\n")
    median = {key: statistics.median(v) for key, v in times.items()}
    header = "| net | threads | nnstudio | matrix products | nnstudio / products | outside products |"
    header += " pytorch | pytorch / nnstudio |" if have_torch else ""
    print(header)
    print("|" + " --- |" * (header.count("|") - 1))
    for net in args.net:
        for threads in args.threads:
            ours, floor = median[net, threads, "nnstudio"], median[net, threads, "matrix products"]
            row = f"| {net} | {threads} | {ours:.3f} | {floor:.3f} | {ours / floor:.2f} | {1 - floor / ours:.0%} |"
            if have_torch:
                theirs = median[net, threads, "pytorch"]
                row += f" {theirs:.3f} | {theirs / ours:.2f} |"
            print(row)
    if ("seed", 1, "seed-style float64") in median:
        seed_style = median["seed", 1, "seed-style float64"]
        print(f"\nseed-style float64: {seed_style:.3f} s, {seed_style / median['seed', 1, 'nnstudio']:.2f}x nnstudio's")
    for (net, threads, name), value in median.items():
        base = {"augment prefetch": "nnstudio", "augment in line": "nnstudio", "distortion CPU": "plain CPU",
                "prefetch, a core each": "plain CPU", "plain, a core busy": "nnstudio"}.get(name)
        if base is None:
            continue
        ratios = [a / b for a, b in zip(times[net, threads, name], times[net, threads, base])]  # round by round
        extra = [r - (name != "distortion CPU") for r in ratios]
        what = {"augment prefetch": "the overlapped epoch (prefetch)", "augment in line": "the epoch distorting in line",
                "distortion CPU": "the distortion's CPU (in line)",
                "prefetch, a core each": "the overlapped epoch less its waits for a free core",
                "plain, a core busy": "the plain epoch beside a busy loop in another process"}[name]
        print(f"{net}/{threads} threads, {what}: {value:.3f} s, +{statistics.median(extra):.0%} on the plain"
              f" epoch's {'wall time' if base == 'nnstudio' else 'CPU'} (rounds {min(extra):+.0%} to {max(extra):+.0%})")
    print("\naims: seed <= 1.20x its products at 1 thread; wide <= 1.05x at 1 thread, <= 1.15x at 2;"
          " augmentation <= +25% on the seed's epoch")


if __name__ == "__main__":
    main()
