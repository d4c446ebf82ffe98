"""Repeats: one configuration trained with seeds 0..N-1, in parallel worker processes.

One run's test accuracy says little about a configuration: seeds alone move it by a few
tenths of a percent. :func:`run_repeats` trains the same configuration with ``N`` seeds, each
in its own process with one BLAS thread (processes share no GIL; one BLAS thread each is the
fastest use of the cores), as many processes at once as :func:`worker_count` allows. Each
repeat is a normal run folder inside one group folder, which also gets ``group.json`` with
every result and the summary::

    runs/20261126-123000-x5/
        group.json
        seed-0/   model.npz, history.csv, ...
        seed-1/   ...

The results arrive as they finish; :func:`summary_text` gives ``mean ± sd (min–max)``.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path

from nnstudio.core.atomic_file import atomic_write
from nnstudio.core.config import TrainingConfig

GROUP_FILE = "group.json"
BLAS_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


def one_blas_thread_for_workers() -> dict[str, str | None]:
    """Give the worker processes spawned from now on one BLAS thread each (they inherit the
    environment); returns the variables as they were, for :func:`restore_environment`."""
    saved = {k: os.environ.get(k) for k in BLAS_VARIABLES}
    os.environ.update({k: "1" for k in BLAS_VARIABLES})
    return saved


def restore_environment(saved: dict[str, str | None]) -> None:
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value

_stop_event = None  # set in each worker by _start_worker


@dataclass(frozen=True)
class RepeatResult:
    seed: int
    folder: str
    test_accuracy: float | None
    best_val_accuracy: float
    best_epoch: int
    epochs: int
    seconds: float
    reason: str
    error: str = ""


def worker_count(repeats: int, *, app_open: bool = False, cores: int | None = None) -> int:
    """Processes to run at once: one per core (leaving one to the app when it is open), at most ``repeats``."""
    cores = cores or os.cpu_count() or 1
    return max(1, min(repeats, cores - (1 if app_open else 0)))


def summary(values: list[float]) -> tuple[float, float, float, float]:
    """``(mean, sample standard deviation, min, max)`` of ``values``."""
    n = len(values)
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return mean, sd, min(values), max(values)


def summary_text(values: list[float], *, percent: bool = True) -> str:
    """``97.81% ± 0.09 (97.67–97.93)`` for accuracies (fractions), or plain numbers."""
    mean, sd, low, high = summary(values)
    if percent:
        return f"{100 * mean:.2f}% ± {100 * sd:.2f} ({100 * low:.2f}–{100 * high:.2f})"
    return f"{mean:.4g} ± {sd:.2g} ({low:.4g}–{high:.4g})"


def run_repeats(config: TrainingConfig, data_dir: str | Path, count: int, group_folder: str | Path, *,
                workers: int | None = None, name: str = "", stop=None) -> Iterator[RepeatResult]:
    """Train ``config`` with seeds ``0..count-1`` into ``group_folder/seed-K``; yield each result as it
    finishes and write ``group.json``. ``stop`` (a ``threading.Event``) ends the running repeats at
    their next batch, keeping their best weights, and skips those not begun."""
    group = Path(group_folder)
    group.mkdir(parents=True, exist_ok=True)
    workers = workers or worker_count(count)
    context = multiprocessing.get_context("spawn")
    worker_stop = context.Event()
    results: list[RepeatResult] = []
    saved_env = one_blas_thread_for_workers()
    try:
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                                 initargs=(worker_stop,)) as pool:
            pending = {pool.submit(_train_one, config.to_dict(), str(data_dir), seed, str(group / f"seed-{seed}"),
                                   f"{name} seed {seed}".strip()) for seed in range(count)}
            try:
                while pending:
                    done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                    if stop is not None and stop.is_set() and not worker_stop.is_set():
                        worker_stop.set()
                        for future in pending:
                            future.cancel()
                    for future in done:
                        if future.cancelled():
                            continue
                        result = future.result()
                        results.append(result)
                        yield result
            finally:  # also when the caller stops listening: no worker outlives this
                worker_stop.set()
                for future in pending:
                    future.cancel()
    finally:
        restore_environment(saved_env)
        if results:
            write_group_file(group, config, results)


def write_group_file(group: Path, config: TrainingConfig, results: list[RepeatResult]) -> Path:
    ordered = sorted(results, key=lambda r: r.seed)
    accuracies = [r.test_accuracy for r in ordered if r.test_accuracy is not None]
    data = {"config": config.to_dict(), "repeats": [asdict(r) for r in ordered]}
    if accuracies:
        mean, sd, low, high = summary(accuracies)
        data["test_accuracy"] = {"mean": mean, "sd": sd, "min": low, "max": high, "count": len(accuracies)}
    with atomic_write(group / GROUP_FILE, "w") as f:
        json.dump(data, f, indent=1)
    return group / GROUP_FILE


def read_group_file(group: str | Path) -> dict:
    with open(Path(group) / GROUP_FILE) as f:
        return json.load(f)


# -- in the worker processes ------------------------------------------------------------------

def _start_worker(stop) -> None:
    import signal

    global _stop_event
    _stop_event = stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the parent's to handle


def _train_one(config: dict, data_dir: str, seed: int, folder: str, name: str) -> RepeatResult:
    from nnstudio.core.dataset import split_mnist
    from nnstudio.core.mnist import load_mnist
    from nnstudio.core.run_folder import save_run
    from nnstudio.core.trainer import Trainer

    cfg = TrainingConfig.from_dict({**config, "seed": seed})
    if _stop_event is not None and _stop_event.is_set():
        return RepeatResult(seed, folder, None, 0.0, 0, 0, 0.0, "stopped", "stopped before it began")
    try:
        data = split_mnist(load_mnist(data_dir), cfg.validation_size)
        trainer = Trainer(cfg, data)
        for _ in trainer.run():
            if _stop_event is not None and _stop_event.is_set():
                trainer.request_stop()
        result = trainer.result
        if result.epochs:
            save_run(folder, trainer, name=name)
        return RepeatResult(seed, folder if result.epochs else "", result.test_accuracy, result.best_val_accuracy,
                            result.best_epoch, result.epochs, result.seconds, result.reason)
    except (OSError, ValueError) as exc:
        return RepeatResult(seed, "", None, 0.0, 0, 0, 0.0, "failed", str(exc))
