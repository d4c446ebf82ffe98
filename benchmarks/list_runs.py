"""How long listing a runs folder takes: 1,000 real run folders (30 epochs of history each).

Each run folder is a copy of one run trained here for the purpose (a 784-32-10 network on
2,000 digits, the same size of metadata as any run of 30 epochs), so the figure is the
reading, not the training. Target: under 2 s for 1,000 runs (issue 8).

    python benchmarks/list_runs.py [--runs 1000] [--data-dir DIR] [--gui]

With ``--gui`` it also times opening the main window (offscreen) on that runs folder: listing
the runs and filling the runs list, all of which happens before the window shows.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from nnstudio.core.config import TrainingConfig
from nnstudio.core.dataset import split_mnist
from nnstudio.core.mnist import load_mnist, resolve_data_dir
from nnstudio.core.run_folder import list_runs, save_run
from nnstudio.core.trainer import Trainer

TARGET_SECONDS = 2.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--gui", action="store_true", help="also time opening the window on these runs")
    args = parser.parse_args()
    split = split_mnist(load_mnist(resolve_data_dir(args.data_dir))).head(2000, 500, 500)
    trainer = Trainer(TrainingConfig(hidden=(32,), max_epochs=30, patience=0), split)
    for _ in trainer.run():
        pass
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        first = save_run(root / "run-0000", trainer)
        for i in range(1, args.runs):
            shutil.copytree(first, root / f"run-{i:04d}")
        started, cpu = time.perf_counter(), time.process_time()
        runs, problems = list_runs(root)
        cold, cold_cpu = time.perf_counter() - started, time.process_time() - cpu
        started, cpu = time.perf_counter(), time.process_time()
        list_runs(root)
        warm, warm_cpu = time.perf_counter() - started, time.process_time() - cpu
        if args.gui:
            window_seconds = time_window(root, split)
    assert len(runs) == args.runs and not problems
    print(f"list_runs of {args.runs} runs: {cold:.2f} s first ({cold_cpu:.2f} s of CPU), "
          f"{warm:.2f} s again ({warm_cpu:.2f} s of CPU)  (target < {TARGET_SECONDS:g} s; a busy machine "
          f"shows more wall time than CPU time)")
    if args.gui:
        print(f"main window opened on {args.runs} runs (listed in the runs list): {window_seconds:.2f} s")
    return 0 if cold < TARGET_SECONDS else 1


def time_window(root: Path, split) -> float:
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from nnstudio.gui.main_window import MainWindow
    from nnstudio.gui.panels.runs_list import RunsListPanel
    from nnstudio.gui.settings import Settings

    app = QApplication.instance() or QApplication([])
    settings = Settings(QSettings(str(root / "settings.ini"), QSettings.Format.IniFormat))
    started, cpu = time.perf_counter(), time.process_time()
    window = MainWindow(settings, root, split=split)
    window.show()
    app.processEvents()
    seconds = time.perf_counter() - started
    print(f"  (window: {time.process_time() - cpu:.2f} s of CPU)")
    assert len(window.findChild(RunsListPanel).runs()) == len(list(root.glob("run-*")))
    window.close()
    return seconds


if __name__ == "__main__":
    sys.exit(main())
