"""``nnstudio-train --find-lr``: the learning-rate range test from the command line; trains nothing.

Runs :func:`~nnstudio.core.lr_finder.find_learning_rate` on the network the given flags would
train (same layers, activation, seed, batch size, momentum), prints ``suggested learning rate: X``
and writes ``lr_finder.csv`` and ``lr_finder.png`` into the output folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

from nnstudio.core.atomic_file import atomic_write
from nnstudio.core.config import TrainingConfig
from nnstudio.core.dataset import Split
from nnstudio.core.lr_finder import LrFinderResult, LrProgress, curves_csv, finder_job

CSV_NAME = "lr_finder.csv"
PNG_NAME = "lr_finder.png"


def write_outputs(out: Path, result: LrFinderResult, title: str = "") -> None:
    from nnstudio.gui.lr_finder_png import write_lr_finder_png

    with atomic_write(out / CSV_NAME, "w", encoding="utf-8", newline="") as f:
        f.write(curves_csv(result))
    write_lr_finder_png(out / PNG_NAME, result, title=title)


def run_find_lr(config: TrainingConfig, data: Split, out: Path, *, title: str = "", interrupt=None) -> int:
    """Run the test, print the suggestion and write the outputs; returns the exit status."""
    job = finder_job(config, data)
    while True:
        try:
            event = next(job)
        except StopIteration as stop:
            result = stop.value
            break
        if interrupt is not None and interrupt.requested:
            print("nnstudio-train: interrupted: no learning rate suggested", file=sys.stderr)
            return 130
        if isinstance(event, LrProgress) and sys.stderr.isatty():
            sys.stderr.write(f"\r  range test {event.run + 1}/{event.runs}: lr {event.learning_rate:.2e}   ")
            sys.stderr.flush()
    if sys.stderr.isatty():
        sys.stderr.write("\r" + " " * 60 + "\r")
    for i, curve in enumerate(result.curves):
        end = "diverged" if curve.diverged else "reached the end of the range"
        print(f"  run {i + 1}: {curve.steps} batches, lowest loss at lr {curve.minimum_lr:.3g}, {end}, "
              f"valley at {curve.suggestion:.3g}")
    try:
        write_outputs(out, result, title)
    except OSError as exc:
        print(f"nnstudio-train: error: could not write the range test into {out}: {exc}", file=sys.stderr)
        return 1
    print(result.band_text.split(" (")[0])
    print(f"  (three runs on different batches gave {result.low:.3g} to {result.high:.3g}; "
          f"below {result.zones()[0]:.3g} learning is too slow, above {result.zones()[1]:.3g} it diverges)")
    print(f"wrote {out / CSV_NAME} and {out / PNG_NAME}")
    return 0
