"""``nnstudio-train --sweep lr=0.001,0.1 [--sweep hidden=64,256]``: every point in a worker process.

Writes one run folder per point and ``sweep.csv`` into the output folder, prints each point's
result as it finishes and a table at the end. Ctrl+C stops the running points (keeping their best
weights) and skips the others.
"""

from __future__ import annotations

import sys
from pathlib import Path


def train_sweep(parser, args, config, interrupt) -> int:
    from nnstudio import __version__
    from nnstudio.cli.repeat import StopAll
    from nnstudio.cli.train import ensure_data
    from nnstudio.core.dataset import split_mnist
    from nnstudio.core.download import DownloadError
    from nnstudio.core.idx import DataError
    from nnstudio.core.mnist import load_mnist
    from nnstudio.core.repeats import worker_count
    from nnstudio.core.run_folder import PLOT, load_run, new_run_folder
    from nnstudio.core.sweeps import SWEEP_FILE, PointResult, SweepEpoch, parse_axis, run_sweep, sweep_points
    from nnstudio.gui.history_png import write_history_png

    try:
        points = sweep_points(config, [parse_axis(text) for text in args.sweep])
    except ValueError as exc:
        parser.error(f"--sweep: {exc}")
    try:
        data_dir = ensure_data(args.data_dir)
        split_mnist(load_mnist(data_dir), config.validation_size)  # a bad folder fails here, once
    except (DataError, DownloadError, OSError) as exc:
        print(f"nnstudio-train: error: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        parser.error(str(exc))
    try:
        folder = args.out if args.out is not None else new_run_folder("runs")
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        parser.error(f"cannot write into {args.out or 'runs/'}: {exc.strerror or exc}")
    workers = worker_count(len(points))
    print(f"nnstudio {__version__} · preset {args.preset} · sweep of {len(points)} points in {workers} processes: "
          + ", ".join(p.label for p in points), flush=True)
    stop_all = StopAll()
    interrupt.watch(stop_all)
    finished = []
    for event in run_sweep(points, data_dir, folder, workers=workers, name=args.preset, stop=stop_all.event):
        if isinstance(event, SweepEpoch) and not args.quiet:
            r = event.report
            print(f"  {points[event.point].label}: epoch {r.epoch} val acc {r.val_accuracy:.4f}", flush=True)
        elif isinstance(event, PointResult):
            label = points[event.point].label
            if event.error or event.test_accuracy is None:
                print(f"{label}: {event.reason}: {event.error or 'no epoch finished'}", flush=True)
                continue
            finished.append(event)
            try:
                write_history_png(Path(event.folder) / PLOT, load_run(event.folder).history,
                                  title=f"nnstudio · sweep · {label}")
            except (OSError, ValueError):
                pass  # the run itself is saved; the picture is a convenience
            print(f"{label}: test accuracy {event.test_accuracy:.4f} · best epoch {event.best_epoch} of "
                  f"{event.epochs} · {event.seconds:.1f} s", flush=True)
    if not finished:
        print("nnstudio-train: no point of the sweep finished", file=sys.stderr)
        return 130 if interrupt.requested else 1
    print("\n" + (folder / SWEEP_FILE).read_text(encoding="utf-8").rstrip())
    best = max(finished, key=lambda r: r.test_accuracy)
    print(f"best: {points[best.point].label} (test accuracy {best.test_accuracy:.4f})")
    print(f"wrote {folder}/")
    return 130 if interrupt.requested else 0
