"""What a run needs to go on exactly where it ended: the optimiser's state at the best epoch, the
random streams, the history and live settings; the part of :class:`~nnstudio.core.trainer.Trainer`
that "+1 epoch" and :func:`nnstudio.core.run_folder.resume_trainer` rely on.

When an epoch improves, the trainer keeps the optimiser's state (SGD's velocities, Adam's moments
and step count, RMSprop's averages) with that epoch's weights. A run ends holding the best weights,
so a continued run starts from them *and* from the optimiser's state that went with them: training
two epochs straight and one epoch, then one more, give the same weights.
"""

from __future__ import annotations

import numpy as np

from nnstudio.core.checkpoints import Checkpoints


class Resumable:
    """Mixed into :class:`~nnstudio.core.trainer.Trainer`: the optimiser's state and :meth:`restore`."""

    @property
    def optimizer_state(self) -> dict[str, np.ndarray]:
        """The optimiser's state that goes with the weights a finished run holds (its best epoch's):
        SGD's ``velocity0..``, Adam's ``m0.., v0..``, RMSprop's ``v0.., buffer0..`` (each in the order
        ``W1, b1, W2, b2...``) and ``steps``; empty before any epoch improved."""
        return dict(self._best_optimizer_state)

    def _optimizer_state(self) -> dict[str, np.ndarray]:
        if self.optimizer is not None:
            return self.optimizer.state()
        if not self.momentum:
            return {}
        state = {}
        for i, v in enumerate(self._engine.velocities):
            state[f"velocity{2 * i}"], state[f"velocity{2 * i + 1}"] = v[:-1].copy(), v[-1].copy()
        return state

    def _load_optimizer_state(self, state: dict[str, np.ndarray]) -> None:
        if self.optimizer is not None:
            self.optimizer.reset()
            self.optimizer.load_state(state)
        elif "velocity0" in state:
            for i, v in enumerate(self._engine.velocities):
                v[:-1], v[-1] = state[f"velocity{2 * i}"], state[f"velocity{2 * i + 1}"]

    def restore(self, history, optimizer_state: dict[str, np.ndarray], *, live: dict | None = None,
                random_state: dict | None = None, seconds: float = 0.0, checkpoints: Checkpoints | None = None) -> None:
        """Take up a saved run where it ended (its network given to the constructor holds the best
        epoch's weights): its ``history``, the optimiser's state at the best epoch, the live settings
        it ended with, its random streams' states (``{"order": ..., "dropout": ...}``) and its time."""
        self.build()
        self.history = list(history)
        if self.history:
            last = self.history[-1]
            self._best_epoch, self._best_val_loss, self._best_val_accuracy = \
                last.best_epoch, last.best_val_loss, last.best_val_accuracy
            self._epochs_without_improvement = last.epoch - last.best_epoch
        self._best_params = self.network.copy_parameters()
        self._best_optimizer_state = {k: np.array(v) for k, v in optimizer_state.items()}
        for name, value in (live or {}).items():
            if name in ("learning_rate", "momentum", "dropout", "input_dropout"):
                setattr(self, name, float(value))
            elif name == "patience":
                self.patience = int(value)
        if hasattr(self.optimizer, "momentum"):  # RMSprop's momentum is live as SGD's (see _apply_pending)
            self.optimizer.momentum = self.momentum
        if random_state:
            self.rng.bit_generator.state = random_state["order"]
            self._dropout_rng.bit_generator.state = random_state["dropout"]
        self._seconds = float(seconds)
        if checkpoints is not None:
            self.checkpoints = checkpoints

    @property
    def random_state(self) -> dict:
        """The states of the random streams a continued run draws from (the epochs' order, dropout)."""
        return {"order": self.rng.bit_generator.state, "dropout": self._dropout_rng.bit_generator.state}
