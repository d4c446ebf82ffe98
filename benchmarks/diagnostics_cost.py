"""What the per-epoch diagnostics cost, against the seed network's epoch, side by side.

    NNSTUDIO_DATA=../shared/mnist python benchmarks/diagnostics_cost.py [--rounds 3]

The seed's network (784-128-64-10, ReLU, SGD lr 0.1, batch 64, 54,000 images) trains one
epoch with the diagnostics switched off; the diagnostics of the resulting network are then
measured as the trainer measures them at an epoch's end (repeated, the median taken). One
BLAS thread. Target: diagnostics <= 5% of the epoch.
"""

from __future__ import annotations

import argparse
import statistics
import time

from threadpoolctl import threadpool_limits

from nnstudio.core.config import TrainingConfig
from nnstudio.core.dataset import split_mnist
from nnstudio.core.diagnostics import DiagnosticsProbe
from nnstudio.core.mnist import load_mnist, resolve_data_dir
from nnstudio.core.trainer import Trainer

TARGET = 0.05


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data-dir")
    args = parser.parse_args()
    data = split_mnist(load_mnist(resolve_data_dir(args.data_dir)))
    epochs, measures = [], []
    with threadpool_limits(limits=1):
        trainer = Trainer(TrainingConfig(), data)
        probe = DiagnosticsProbe.from_split(trainer.network, data)
        trainer.diagnostics = None  # the epoch alone
        probe.measure(trainer.network, 0.1)  # warm-up
        for r in range(args.rounds):
            list(trainer.run(max_epochs=1))
            epochs.append(trainer.history[-1].seconds)  # training + validation, as epoch_time.py counts
            samples = []
            for _ in range(7):
                started = time.perf_counter()
                probe.measure(trainer.network, 0.1)
                samples.append(time.perf_counter() - started)
            measures.append(statistics.median(samples))
            print(f"round {r + 1}: epoch {epochs[-1]:.3f} s, diagnostics {measures[-1] * 1000:.1f} ms", flush=True)
    epoch, measure = statistics.median(epochs), statistics.median(measures)
    share = measure / epoch
    print(f"seed epoch (training + validation): {epoch:.3f} s")
    print(f"diagnostics ({len(probe.x)} probe images, {len(probe.x_val)} validation images): {measure * 1000:.1f} ms")
    print(f"diagnostics / epoch = {share:.2%}  (target <= {TARGET:.0%}): {'met' if share <= TARGET else 'MISSED'}")
    return 0 if share <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
