"""``nnstudio-train --repeat N``: the same configuration with seeds 0..N-1, in parallel processes."""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from nnstudio import __version__
from nnstudio.cli.train import ensure_data


class StopAll:
    """What :class:`Interrupt` stops during repeats: every worker, at its next batch."""

    result = None

    def __init__(self) -> None:
        self.event = threading.Event()

    def request_stop(self) -> None:
        self.event.set()


def report_point(result, label: str, title: str, where: str = "") -> bool:
    """Print how a run of a sweep or of repeats ended and draw its history picture; False when it
    failed or finished no epoch (nothing to count)."""
    from nnstudio.core.run_folder import PLOT, load_run
    from nnstudio.gui.history_png import write_history_png

    if result.error or result.test_accuracy is None:
        print(f"{label}: {result.reason}: {result.error or 'no epoch finished'}", flush=True)
        return False
    try:
        write_history_png(Path(result.folder) / PLOT, load_run(result.folder).history, title=title)
    except (OSError, ValueError):
        pass  # the run itself is saved; the picture is a convenience
    print(f"{label}: test accuracy {result.test_accuracy:.4f} · best epoch {result.best_epoch} of "
          f"{result.epochs} · {result.seconds:.1f} s{where}", flush=True)
    return True


def data_and_folder(parser: argparse.ArgumentParser, args: argparse.Namespace, config) -> tuple[Path, Path, object] | int:
    """For runs in worker processes: the data folder, the folder that holds their runs (made) and
    MNIST, read once here (the workers share it); an exit code when there is no data (a bad flag is
    a usage error)."""
    from nnstudio.core.dataset import split_mnist
    from nnstudio.core.download import DownloadError
    from nnstudio.core.idx import DataError
    from nnstudio.core.mnist import load_mnist
    from nnstudio.core.run_folder import new_run_folder

    try:
        data_dir = ensure_data(args.data_dir)
        mnist = load_mnist(data_dir)
        split_mnist(mnist, config.validation_size)  # a bad folder fails here, once
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
    return data_dir, folder, mnist


def train_repeats(parser: argparse.ArgumentParser, args: argparse.Namespace, config, interrupt) -> int:
    """``--repeat N``: seeds 0..N-1 in parallel processes, each a run folder in one group folder."""
    from nnstudio.core.repeats import run_repeats, summary_text, worker_count

    prepared = data_and_folder(parser, args, config)
    if isinstance(prepared, int):
        return prepared
    data_dir, group, mnist = prepared
    workers = worker_count(args.repeat)
    print(f"nnstudio {__version__} · preset {args.preset} · {args.repeat} repeats (seeds 0-{args.repeat - 1})"
          f" in {workers} processes · {config.optimizer} lr {config.learning_rate:g}", flush=True)
    stop_all = StopAll()
    interrupt.watch(stop_all)
    accuracies = []
    for r in run_repeats(config, data_dir, args.repeat, group, workers=workers, name=args.preset,
                         stop=stop_all.event, data=mnist):
        if report_point(r, f"seed {r.point}", f"nnstudio · {args.preset} · seed {r.point}", f" · {r.folder}"):
            accuracies.append(r.test_accuracy)
    if not accuracies:
        print("nnstudio-train: no repeat finished", file=sys.stderr)
        return 130 if interrupt.requested else 1
    print(f"wrote {group}/")
    print(f"test accuracy over {len(accuracies)} seeds: {summary_text(accuracies)}")
    return 130 if interrupt.requested else 0
