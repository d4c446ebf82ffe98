"""Plain batches' pixels gathered ahead on a helper thread: the same rows as a gather in line,
batch after batch, and no thread left behind."""

import threading

import numpy as np
import pytest

from nnstudio.core.config import TrainingConfig
from nnstudio.core.gather_ahead import GatherAhead
from nnstudio.core.trainer import Trainer


def gather_threads():
    return [t for t in threading.enumerate() if t.name.startswith("nnstudio-gather")]


@pytest.mark.parametrize("helper", [True, False])
def test_every_batch_is_the_epochs_rows_whatever_the_epoch_or_batch_size(helper):
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (203, 12), dtype=np.uint8)
    gather = GatherAhead(images, helper=helper, chunk_batches=3)
    try:
        for size in (8, 8, 5, 64):  # a new order each time, then a new batch size, then a single chunk
            order = rng.permutation(len(images))
            for b in range(-(-len(images) // size)):  # the last batch is short
                np.testing.assert_array_equal(gather.take(order, b, size), images[order[b * size:(b + 1) * size]])
        order = rng.permutation(len(images))
        np.testing.assert_array_equal(gather.take(order, 9, 8), images[order[72:80]])  # a run resumed mid-epoch
    finally:
        gather.close()
    assert not gather_threads()


def test_a_run_gathers_ahead_to_the_same_weights_and_a_stop_leaves_no_thread(small_split):
    config = TrainingConfig(hidden=(16,), batch_size=32, max_epochs=2, patience=0)
    nets = []
    for prefetch in (True, False):
        trainer = Trainer(config, small_split)
        trainer.prefetch = prefetch
        list(trainer.run())
        nets.append(trainer.network)
    for a, b in zip(*(net.parameters() for net in nets)):
        np.testing.assert_array_equal(a, b)
    trainer = Trainer(config, small_split)
    run = trainer.run()
    next(run)  # the first batches trained, their progress reported
    assert gather_threads()
    run.close()  # a stop mid-epoch, as closing the window does
    assert not gather_threads()
