"""GUI-thread CPU of each event-loop turn the Train tab's plots take over a run, without training.

Builds the real MainWindow (offscreen unless QT_QPA_PLATFORM says otherwise), feeds its session's
``progressed`` and ``epoch_finished`` signals as a run of the default configuration on full MNIST does
(three batch reports an epoch, 844 batches, three epochs), lets the event loop paint after each, and
times every turn on the GUI thread with thread CPU time: each report's slots, each repaint of the
plots, and the loss plot's turn of an epoch. No training thread competes, so the figures barely move
on a busy machine; they say how long the worst turns hold the GUI (what ``gui_latency.py``'s p99 is
made of) and compare two builds run side by side.

    python benchmarks/plot_turns.py [--runs 5]

Prints the GUI CPU of a run (median of the runs) and the six longest turns (median over the runs of
each run's longest, second longest, ...).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pyqtgraph as pg  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from nnstudio.core.reports import BatchProgress, EpochReport  # noqa: E402
from nnstudio.gui.main_window import MainWindow  # noqa: E402
from nnstudio.gui.settings import Settings  # noqa: E402
from nnstudio.gui.training_plots import TrainingPlots  # noqa: E402

EPOCHS, BATCHES = 3, 844
turns: list[tuple[str, float]] = []  # what, CPU ms


def timed(cls, name: str, label: str) -> None:
    """Time each call of ``cls.name`` (thread CPU) into :data:`turns`."""
    original = getattr(cls, name)

    def wrapper(self, *args, **kwargs):
        started = time.thread_time()
        try:
            return original(self, *args, **kwargs)
        finally:
            turns.append((label, (time.thread_time() - started) * 1000))

    setattr(cls, name, wrapper)


def one_run(app: QApplication, rng: np.random.Generator) -> list[tuple[str, float]]:
    folder = Path(tempfile.mkdtemp(prefix="nnstudio-turns-"))
    settings = Settings(QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings, folder / "runs")
    window.resize(1400, 900)
    window.show()
    window.build_pages()
    for _ in range(10):
        app.processEvents()
    session = window.session
    window.train.plots.start_run("seed", EPOCHS, 0)
    for _ in range(5):
        app.processEvents()
    turns.clear()

    def send(label: str, signal, *args) -> None:
        started = time.thread_time()
        signal.emit(*args)
        turns.append((label, (time.thread_time() - started) * 1000))
        for _ in range(10):  # the repaints, and the turns they start
            app.processEvents()

    for epoch in range(1, EPOCHS + 1):
        done = 0
        for count in (280, 280, BATCHES - 560):
            step = (epoch - 1) * BATCHES + done + np.arange(count)
            losses = 2.3 * np.exp(-step / 300) + 0.1 + 0.2 * rng.random(count)
            send("batches", session.progressed, (BatchProgress(epoch, done + count, BATCHES, done, losses, 0.2),))
            done += count
        accuracy = 0.9 + 0.02 * epoch
        send("epoch", session.epoch_finished, EpochReport(epoch, 0.3 / epoch, accuracy - 0.01, 0.32 / epoch, accuracy,
                                                          0.1, 0.6, epoch, 0.32 / epoch, accuracy, None, True))
    window.close()
    window.deleteLater()
    app.processEvents()
    return list(turns)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    timed(pg.GraphicsView, "paintEvent", "paint")
    if hasattr(TrainingPlots, "finish_epoch"):
        timed(TrainingPlots, "finish_epoch", "loss plot")
    rng = np.random.default_rng(0)
    one_run(app, rng)  # warm-up: first imports and caches
    runs = [one_run(app, rng) for _ in range(args.runs)]
    per_run = [sum(ms for _, ms in run) for run in runs]
    longest = np.median([sorted((ms for _, ms in run), reverse=True)[:6] for run in runs], axis=0)
    print(f"GUI CPU of a {EPOCHS}-epoch run: {np.median(per_run):.1f} ms (median of {args.runs}; "
          f"{len(runs[0])} turns a run)")
    print(f"longest turns: {' '.join(f'{ms:.1f}' for ms in longest)} ms CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
