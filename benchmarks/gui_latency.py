"""How responsive the dashboard stays while it trains, and what the GUI costs the training.

Runs the real MainWindow (offscreen unless QT_QPA_PLATFORM says otherwise), trains the
default configuration on full MNIST for 3 epochs through it, and meanwhile probes the
event loop with a 10 ms timer: each tick's lateness is how much later than 10 ms after
the previous tick it fired. The probe runs from the click on Start until the session is idle again,
so it includes the end of the run: the test-set evaluation's report, and saving the run
folder (model, history CSV, training_history.png) on the GUI thread. One epoch is also
trained headless in the same process, with the same configuration and one BLAS thread,
before and after the GUI run.

    python benchmarks/gui_latency.py [--data-dir DIR] [--epochs 3] [--tab train|evaluate|inside]
                                     [--augment] [--profile N] [--stalls N]

It also prints ``CPU per epoch: GUI thread … ms, whole process … ms``: the work the window does for
the run (thread CPU time, which a busy machine inflates far less than wall time; compare two builds
by it, run side by side), and the CPU per epoch of the views' background jobs (evaluation,
robustness, layer map: thread CPU time of each ``LatestJob``), by name. ``--profile N`` adds the N functions with the most cumulative GUI-thread
CPU (cProfile on the GUI thread only; what each signal's slots cost; the stats are dumped to
``$TMPDIR/gui_latency.prof``). ``--stalls N`` lists the N costliest slots the event loop called
(a paint is named by its view), each with its longest call in wall and CPU ms, then the N longest
single calls in the order they came (which turn followed which).

The last line reads ``p50=… p99=… max=… ms ratio=…``: event-loop lateness in
milliseconds over the whole run including its end, and the GUI's mean epoch time over the
headless one.
Targets: p99 <= 20 ms, max <= 100 ms, ratio <= 1.1.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QElapsedTimer, QEventLoop, QObject, QSettings, Qt, QTimer, Slot  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from nnstudio.core.config import PRESETS  # noqa: E402
from nnstudio.core.dataset import split_mnist  # noqa: E402
from nnstudio.core.mnist import load_mnist, resolve_data_dir  # noqa: E402
from nnstudio.core.trainer import Trainer  # noqa: E402
from nnstudio.gui.main_window import MainWindow  # noqa: E402
from nnstudio.gui.panels.latest_job import CPU_SECONDS, RUNS  # noqa: E402
from nnstudio.gui.settings import Settings  # noqa: E402

PROBE_MS = 10


class StallTracer:
    """Times each Python call the event loop makes on the GUI thread (a slot, a paint, a timer):
    wall and thread-CPU milliseconds, to name what a late probe tick waited for."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, float, str]] = []  # wall ms, CPU ms, where
        self._depth = 0
        self._start = (0.0, 0.0, "")

    def __call__(self, frame, event, arg) -> None:
        if event == "call":
            if self._depth == 0:
                code = frame.f_code
                where = f"{Path(code.co_filename).name}:{code.co_firstlineno}({code.co_name})"
                if code.co_name == "paintEvent":  # which view paints: the nearest named ancestor
                    widget = frame.f_locals.get("self")
                    while widget is not None and not widget.objectName():
                        widget = widget.parent()
                    where += f" {widget.objectName() if widget is not None else '?'}"
                self._start = (time.perf_counter(), time.thread_time(), where)
            self._depth += 1
        elif event == "return":
            self._depth -= 1
            if self._depth == 0:
                wall, cpu, where = self._start
                self.calls.append(((time.perf_counter() - wall) * 1000, (time.thread_time() - cpu) * 1000, where))

    def report(self, count: int) -> None:
        totals: dict[str, list[float]] = {}
        for wall, cpu, where in self.calls:
            entry = totals.setdefault(where, [0, 0.0, 0.0, 0.0])
            entry[0] += 1
            entry[1] += cpu
            entry[2] = max(entry[2], wall)
            entry[3] = max(entry[3], cpu)
        print(f"the GUI thread's slots, costliest first (CPU ms in all; longest wall and CPU ms of one call):")
        for where, (n, cpu, wall, most) in sorted(totals.items(), key=lambda kv: -kv[1][1])[:count]:
            print(f"  {cpu:7.1f} ms in {n:4d} calls, longest {wall:6.1f} ms wall / {most:5.1f} ms CPU  {where}")
        print("the longest single calls (wall ms / CPU ms), in the order they came:")
        longest = sorted(sorted(range(len(self.calls)), key=lambda i: -self.calls[i][0])[:count])
        for i in longest:
            wall, cpu, where = self.calls[i]
            print(f"  #{i:5d} {wall:6.1f} ms wall / {cpu:5.1f} ms CPU  {where}")


class LatenessProbe(QObject):
    """A 10 ms timer on the GUI thread that records how late each tick fires."""

    def __init__(self) -> None:
        super().__init__()
        self.lateness_ms: list[float] = []
        self._clock = QElapsedTimer()
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(PROBE_MS)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._clock.start()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    @Slot()
    def _tick(self) -> None:
        elapsed = self._clock.nsecsElapsed() / 1e6
        self._clock.restart()
        self.lateness_ms.append(max(elapsed - PROBE_MS, 0.0))


def headless_epoch_seconds(config, split, epochs: int = 1) -> float:
    """An epoch's mean wall time over a run of ``epochs`` without any GUI, as the worker trains (one
    BLAS thread)."""
    trainer = Trainer(config, split)
    with threadpool_limits(1):
        reports = [e for e in trainer.run(epochs) if type(e).__name__ == "EpochReport"]
    return float(np.mean([r.seconds for r in reports]))


def gui_run(config, split, epochs: int, tab: str = "train", profile: int = 0, stalls: int = 0
            ) -> tuple[list[float], list[float], list[float]]:
    """Train through the real window, from a click on Start until the session is idle again.

    Returns the epochs' seconds, the probe's lateness (ms) over the whole run, and the part of it
    after the last epoch was shown (the run's end: its result, saving and listing the run folder).
    """
    folder = Path(tempfile.mkdtemp(prefix="nnstudio-bench-"))
    settings = Settings(QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings, folder / "runs", split=split)
    window.resize(1400, 900)
    window.show()
    window.build_pages()  # as the app does once idle after start-up (nnstudio.gui.app), before any Start
    window.controls.set_config(config.replace(max_epochs=epochs))
    window.tabs.setCurrentIndex({"train": 0, "evaluate": 1, "inside": 2}[tab])  # Evaluate/Inside refresh every epoch
    QApplication.processEvents()

    seconds: list[float] = []
    probe = LatenessProbe()
    end_starts_at: list[int] = []  # the probe tick at which the last epoch was on screen

    def on_epoch(report) -> None:
        seconds.append(report.seconds)
        if len(seconds) == epochs:
            end_starts_at.append(len(probe.lateness_ms))

    def on_phase(phase: str) -> None:
        if phase == "idle":  # the run has ended and its folder is saved and listed
            probe.stop()
            loop.quit()

    session = window.session
    session.epoch_finished.connect(on_epoch)
    loop = QEventLoop()
    session.phase_changed.connect(on_phase)
    profiler = cProfile.Profile(time.thread_time) if profile else None  # CPU time, this thread only
    cpu_started, process_started = time.thread_time(), time.process_time()
    CPU_SECONDS.clear()
    RUNS.clear()
    tracer = StallTracer() if stalls else None
    if profiler:
        profiler.enable()
    probe.start()
    window.train.start_button.click()
    if tracer:
        sys.setprofile(tracer)  # inside exec, every Python call the event loop makes is timed
    loop.exec()
    sys.setprofile(None)
    probe.stop()
    gui_cpu, process_cpu = time.thread_time() - cpu_started, time.process_time() - process_started
    if profiler:
        profiler.disable()
    if tracer:
        tracer.report(stalls)
    inflated = " (profiled: inflated)" if profiler or tracer else ""
    print(f"CPU per epoch: GUI thread {gui_cpu * 1000 / epochs:.0f} ms, whole process {process_cpu * 1000 / epochs:.0f} ms"
          f"{inflated}")
    jobs = sum(CPU_SECONDS.values())
    each = ", ".join(f"{name} {cpu * 1000 / epochs:.0f} in {RUNS.get(name, 0)} jobs"
                     for name, cpu in sorted(CPU_SECONDS.items(), key=lambda kv: -kv[1]))
    print(f"CPU per epoch: the views' background jobs {jobs * 1000 / epochs:.0f} ms ({each or 'none'}); "
          f"the rest (training, Qt) {(process_cpu - gui_cpu - jobs) * 1000 / epochs:.0f} ms")
    if profiler:
        print("cumulative times below are GUI-thread CPU")
        stats = pstats.Stats(profiler).sort_stats("cumulative")
        stats.print_stats(profile)
        stats.print_callees("emit")  # what each signal's slots cost
        stats.dump_stats(Path(tempfile.gettempdir()) / "gui_latency.prof")  # for pstats / snakeviz
    runs = sorted((folder / "runs").glob("*/training_history.png"))
    if len(runs) != 1:
        raise SystemExit(f"the run folder was not saved: {list((folder / 'runs').glob('*'))}")
    window.close()
    end = probe.lateness_ms[end_starts_at[0]:] if end_starts_at else []
    return seconds, probe.lateness_ms, end


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--tab", choices=("train", "evaluate", "inside"), default="train", help="the tab shown during the run")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="print the GUI thread's CPU per epoch and its N costliest functions")
    parser.add_argument("--augment", action="store_true",
                        help="distort every image as epoch_time.py --augment does (helper processes); "
                             "the headless runs then train as many epochs as the GUI run")
    parser.add_argument("--stalls", type=int, default=0, metavar="N",
                        help="print the N slots with the most GUI-thread CPU, with their longest call")
    args = parser.parse_args(argv)

    app = QApplication.instance() or QApplication(sys.argv[:1])  # noqa: F841
    started = time.perf_counter()
    split = split_mnist(load_mnist(resolve_data_dir(args.data_dir)))
    config = PRESETS["seed"].replace(patience=0)
    headless_epochs = 1
    if args.augment:
        config = config.replace(augment_rotate=10, augment_scale=0.1, augment_shear=10, augment_shift=2,
                                elastic_alpha=34, elastic_sigma=4)
        headless_epochs = args.epochs  # each run starts its helper: compare runs of the same length
    print(f"data: {len(split.x_train)} training images, loaded in {time.perf_counter() - started:.1f} s")
    print(f"config: hidden {config.hidden}, lr {config.learning_rate}, batch {config.batch_size}")

    before = headless_epoch_seconds(config, split, headless_epochs)
    epoch_seconds, lateness, end = gui_run(config, split, args.epochs, args.tab, args.profile, args.stalls)
    after = headless_epoch_seconds(config, split, headless_epochs)
    headless = (before + after) / 2
    gui = float(np.mean(epoch_seconds))
    lateness = np.array(lateness)
    print(f"headless epoch: {before:.2f} s before, {after:.2f} s after the GUI run")
    print(f"GUI epochs: {', '.join(f'{s:.2f}' for s in epoch_seconds)} s; {len(lateness)} probe ticks")
    print(f"end of run (result, save and list the run folder): {len(end)} probe ticks, "
          f"worst lateness {max(end, default=0.0):.1f} ms")
    p50, p99 = np.percentile(lateness, [50, 99])
    print(f"p50={p50:.1f} p99={p99:.1f} max={lateness.max():.1f} ms ratio={gui / headless:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
