"""What the per-epoch diagnostics cost, against the seed network's epoch, side by side.

    NNSTUDIO_DATA=../shared/mnist python benchmarks/diagnostics_cost.py [--rounds 3] [--every 100]

The seed's network (784-128-64-10, ReLU, SGD lr 0.1, batch 64, 54,000 images) trains one
epoch with the diagnostics switched off; the diagnostics of the resulting network are then
measured as the trainer measures them at an epoch's end (repeated, the median taken). One
BLAS thread. Target: diagnostics <= 5% of the epoch.

The epochs train with the diagnostics every ``--every`` batches on (as "Diagnostics every N
batches" does, 0: off); what those cost (each measured step's weight copy and norms, summed
over the epoch) is reported too, alone and with the epoch-end diagnostics: the same 5% target.
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
    parser.add_argument("--every", type=int, default=100, help="diagnostics every N batches too (0: off)")
    args = parser.parse_args()
    data = split_mnist(load_mnist(resolve_data_dir(args.data_dir)))
    epochs, measures, steps, counts = [], [], [], []
    with threadpool_limits(limits=1):
        trainer = Trainer(TrainingConfig(), data)
        probe = DiagnosticsProbe.from_split(trainer.network, data)
        trainer.diagnostics = None  # the epoch alone
        trainer.set_diagnostics_every(args.every)
        probe.measure(trainer.network, 0.1)  # warm-up
        for r in range(args.rounds):
            points = [d for e in trainer.run(max_epochs=1) for d in getattr(e, "diagnostics", None) or ()
                      if hasattr(e, "batches")]
            steps.append(sum(p.seconds for p in points))
            counts.append(len(points))
            epochs.append(trainer.history[-1].seconds)  # training + validation, as epoch_time.py counts
            samples = []
            for _ in range(7):
                started = time.perf_counter()
                probe.measure(trainer.network, 0.1)
                samples.append(time.perf_counter() - started)
            measures.append(statistics.median(samples))
            print(f"round {r + 1}: epoch {epochs[-1]:.3f} s, diagnostics {measures[-1] * 1000:.1f} ms, "
                  f"{counts[-1]} every-{args.every}-batch points {steps[-1] * 1000:.1f} ms", flush=True)
    epoch, measure = statistics.median(epochs), statistics.median(measures)
    share = measure / epoch
    print(f"seed epoch (training + validation): {epoch:.3f} s")
    print(f"diagnostics ({len(probe.x)} probe images, {len(probe.x_val)} validation images): {measure * 1000:.1f} ms")
    print(f"diagnostics / epoch = {share:.2%}  (target <= {TARGET:.0%}): {'met' if share <= TARGET else 'MISSED'}")
    if args.every:
        step = statistics.median(steps)
        both = share + step / epoch
        print(f"every {args.every} batches ({statistics.median(counts):.0f} points an epoch): {step * 1000:.1f} ms, "
              f"{step / epoch:.2%} of the epoch")
        print(f"diagnostics every {args.every} batches + at the epoch's end / epoch = {both:.2%}  "
              f"(target <= {TARGET:.0%}): {'met' if both <= TARGET else 'MISSED'}")
        share = max(share, both)
    return 0 if share <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
