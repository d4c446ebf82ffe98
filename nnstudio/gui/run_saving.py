"""Saving a finished run off the GUI thread: the job the session's worker runs.

The session draws the history picture on the GUI thread (QPainter) and hands the job plain data
only: a :class:`SavedTrainer` snapshot of what ``save_run`` reads, and the picture's RGB pixels. The
job writes the run folder (model, checkpoints, history CSV, picture), each file atomically, reads
it back as the runs list shows it, and returns a :class:`SaveOutcome`. A folder it made and could
not fill is removed again, so a failed save leaves nothing half written behind.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnstudio.core.model_file import ModelFileError
from nnstudio.core.png_file import write_png
from nnstudio.core.run_folder import PLOT, Run, load_run, new_run_folder, save_run

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class SavedData:
    checksum: str


@dataclass(frozen=True, eq=False)
class SavedTrainer:
    """What ``save_run`` reads of a trainer, taken on the GUI thread as the run ended (the network and
    checkpoints are not trained again while the session saves: it is busy until the run is listed)."""

    config: object
    learning_rate: float
    momentum: float
    patience: int
    history: tuple
    result: object
    epoch: int
    threads: int
    data: SavedData
    network: object
    checkpoints: object

    @classmethod
    def of(cls, trainer) -> SavedTrainer:
        return cls(trainer.config, trainer.learning_rate, trainer.momentum, trainer.patience,
                   tuple(trainer.history), trainer.result, trainer.epoch, getattr(trainer, "threads", 1),
                   SavedData(getattr(trainer.data, "checksum", "")), trainer.network,
                   getattr(trainer, "checkpoints", ()))


@dataclass(frozen=True, eq=False)
class SaveOutcome:
    """The run as listed (None if saving failed), its folder (None if none was kept) and why it failed."""

    run: Run | None
    folder: Path | None
    error: str = ""


def save_job(runs_root: Path, folder: Path | None, trainer: SavedTrainer, name: str,
             picture: np.ndarray | None):
    """Write the run into ``folder`` (a new folder under ``runs_root`` when None); a generator for the
    session's :class:`~nnstudio.gui.worker.Worker`, returning a :class:`SaveOutcome`."""
    yield None
    made = folder is None
    try:
        if folder is None:
            folder = new_run_folder(runs_root)
        save_run(folder, trainer, name=name)
        if picture is not None:
            path = folder / PLOT
            try:
                write_png(path, picture)
            except OSError as exc:
                raise OSError(f"could not write the training history picture to {path}: "
                              f"{exc.strerror or exc}") from exc
        return SaveOutcome(load_run(folder), folder)
    except (OSError, ModelFileError) as exc:
        log.exception("could not save the run")
        if made and folder is not None:  # leave no empty run folder behind
            try:
                folder.rmdir()
                folder = None
            except OSError:
                pass  # not empty: what was written stays
        return SaveOutcome(None, folder, f"The run could not be saved in {runs_root}: {exc}")
