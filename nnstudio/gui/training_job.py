"""The training job the session hands to the generic worker, and the plain records it announces."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from threadpoolctl import threadpool_limits

from nnstudio.core.config import TrainingConfig
from nnstudio.core.network import Network
from nnstudio.core.reports import EpochReport
from nnstudio.core.thread_choice import app_cap, choose_threads
from nnstudio.core.trainer import Trainer


@dataclass(frozen=True)
class Launch:
    """What :attr:`RunSession.started` announces: a fresh run, or a finished run continued."""

    name: str
    config: TrainingConfig
    first_epoch: int  # epochs done before this launch (0 for a fresh run)
    last_epoch: int  # the epoch this launch trains up to ("Epoch 3 of 3" after "+1 epoch")
    restored_epoch: int = 0  # a continuation from the best epoch's weights, restored after a later epoch

    @property
    def continued(self) -> bool:
        return self.first_epoch > 0


@dataclass(frozen=True)
class BestNetwork:
    """A copy of the best weights so far, made on the training thread between two epochs."""

    network: Network
    report: EpochReport


def training_job(trainer: Trainer, epochs: int | None) -> Iterator[object]:
    """The trainer's events, with a :class:`BestNetwork` before each epoch that improved.

    ``epochs`` more epochs, or ``None`` for a fresh run up to the config's maximum. A fresh run's
    network is built here, on the worker's thread: seconds for the largest networks allowed."""
    trainer.build()
    if epochs is None:  # a fresh run: the fastest thread count that leaves the window a core
        trainer.threads = choose_threads(trainer.config, trainer.data, lambda n: threadpool_limits(limits=n),
                                         cap=app_cap()).threads
    # As many BLAS threads as the step's; more would spin against the GUI thread's painting.
    with threadpool_limits(limits=trainer.threads):
        for event in trainer.run(epochs):
            if isinstance(event, EpochReport) and event.improved:
                # The generator is suspended at its yield: the network is not being written now.
                yield BestNetwork(trainer.network.copy(), event)
            yield event
