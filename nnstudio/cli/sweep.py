"""``nnstudio-train --sweep lr=0.001,0.1 [--sweep hidden=64,256]``: every point in a worker process.

Writes one run folder per point and ``sweep.csv`` into the output folder, prints each point's
result as it finishes and a table at the end. Ctrl+C stops the running points (keeping their best
weights) and skips the others.
"""

from __future__ import annotations

import sys


def train_sweep(parser, args, config, interrupt) -> int:
    from nnstudio import __version__
    from nnstudio.cli.repeat import StopAll, data_and_folder, report_point
    from nnstudio.core.sweeps import (SWEEP_FILE, PointResult, SweepEpoch, parse_axis, run_sweep, sweep_points,
                                      worker_count)

    try:
        points = sweep_points(config, [parse_axis(text) for text in args.sweep])
    except ValueError as exc:
        parser.error(f"--sweep: {exc}")
    prepared = data_and_folder(parser, args, config)
    if isinstance(prepared, int):
        return prepared
    data_dir, folder, mnist = prepared
    workers = worker_count(len(points))
    print(f"nnstudio {__version__} · preset {args.preset} · sweep of {len(points)} points in {workers} processes: "
          + ", ".join(p.label for p in points), flush=True)
    stop_all = StopAll()
    interrupt.watch(stop_all)
    finished = []
    for event in run_sweep(points, data_dir, folder, workers=workers, name=args.preset, stop=stop_all.event,
                           data=mnist):
        if isinstance(event, SweepEpoch) and not args.quiet:
            r = event.report
            print(f"  {points[event.point].label}: epoch {r.epoch} val acc {r.val_accuracy:.4f}", flush=True)
        elif isinstance(event, PointResult):
            label = points[event.point].label
            if report_point(event, label, f"nnstudio · sweep · {label}"):
                finished.append(event)
    if not finished:
        print("nnstudio-train: no point of the sweep finished", file=sys.stderr)
        return 130 if interrupt.requested else 1
    print("\n" + (folder / SWEEP_FILE).read_text(encoding="utf-8").rstrip())
    best = max(finished, key=lambda r: r.test_accuracy)
    print(f"best: {points[best.point].label} (test accuracy {best.test_accuracy:.4f})")
    print(f"wrote {folder}/")
    return 130 if interrupt.requested else 0
