"""Distorting ahead in chunks: the same pixels with any number of helper processes or threads, live
changes at the next batch, no helper process, thread or file left behind."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from nnstudio.core.augment import Augmentation, Augmenter
from nnstudio.core.config import TrainingConfig
from nnstudio.core.prefetcher import Prefetcher, distortion_workers
from nnstudio.core.trainer import BatchProgress, Trainer

DISTORTED = Augmentation(shift=2, rotate=10, scale=0.1, shear=10, elastic_alpha=34, elastic_sigma=4)
BATCH = 32


def helpers() -> list:
    """The helper threads, and this process's helper processes alive now (Linux's /proc)."""
    threads = [t for t in threading.enumerate() if t.name.startswith("nnstudio-augment")]
    processes = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue  # ended meanwhile
        if parent == os.getpid() and b"helper_processes" in command:
            processes.append(entry.name)
    return threads + processes


def chunk_folders() -> set[Path]:
    """This process's chunk folders (other test processes make their own meanwhile)."""
    import tempfile

    from nnstudio.core.shared_data import scratch_root

    return set(Path(scratch_root() or tempfile.gettempdir()).glob(f"nnstudio-chunks-{os.getpid()}-*"))


def epoch_through(prefetcher: Prefetcher, order: np.ndarray, epoch: int = 1) -> np.ndarray:
    """Every batch of the epoch's ``order``, taken one after another as the trainer does."""
    out = np.empty((len(order), prefetcher.images.shape[1]), np.float32)
    for b in range(-(-len(order) // BATCH)):
        prefetcher.take(epoch, order, b, BATCH, out[b * BATCH:(b + 1) * BATCH])
    return out


@pytest.fixture(scope="module")
def images(small_split):
    return small_split.x_train[:600]


def test_the_same_seed_gives_the_same_pixels_with_any_number_of_helper_processes_or_threads(images):
    order = np.random.default_rng(0).permutation(len(images))
    epochs = {}
    for workers, processes in ((0, True), (1, True), (3, True), (1, False), (3, False)):
        prefetcher = Prefetcher(Augmenter(DISTORTED, seed=5), images, workers=workers, chunk_images=128,
                                processes=processes)
        try:
            epochs[workers, processes] = [epoch_through(prefetcher, order, epoch) for epoch in (1, 2)]
        finally:
            prefetcher.close()
    for key in epochs:
        for ours, theirs in zip(epochs[key], epochs[0, True]):
            np.testing.assert_array_equal(ours, theirs)
    assert not helpers()
    first, second = epochs[0, True]
    assert not np.array_equal(first, second)  # each epoch is distorted afresh
    assert first.min() >= 0 and first.max() <= 1 and np.abs(first - images[order] / 255).mean() > 0.02
    other = Prefetcher(Augmenter(DISTORTED, seed=6), images, workers=0, chunk_images=128)
    assert not np.array_equal(epoch_through(other, order), first)


def test_a_change_of_strengths_takes_effect_at_the_next_batch(images):
    order = np.arange(len(images))
    augmenter = Augmenter(DISTORTED, seed=0)
    prefetcher = Prefetcher(augmenter, images, workers=1, chunk_images=8 * BATCH, processes=True)
    out = np.empty((BATCH, images.shape[1]), np.float32)
    try:
        for b in range(3):
            prefetcher.take(1, order, b, BATCH, out)
            assert not np.array_equal(out, images[b * BATCH:(b + 1) * BATCH] * np.float32(1 / 255))
        augmenter.settings = Augmentation()  # off, in the middle of a chunk made with the old strengths
        for b in (3, 4, 9):
            prefetcher.take(1, order, b, BATCH, out)
            np.testing.assert_array_equal(out, images[b * BATCH:(b + 1) * BATCH] * np.float32(1 / 255))
    finally:
        prefetcher.close()
    assert not helpers()


def test_prefetching_trains_exactly_as_distorting_in_line(small_split):
    config = TrainingConfig(max_epochs=1, batch_size=50, augment_rotate=10, elastic_alpha=30, augment_scale=0.1)
    weights = []
    for prefetch in (True, False):
        trainer = Trainer(config, small_split)
        trainer.prefetch = prefetch
        list(trainer.run())
        weights.append(trainer.network.copy_parameters())
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("how", ["generator closed", "stop requested"])
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_stopping_a_run_leaves_no_helper_process_or_file(small_split, how, monkeypatch):
    monkeypatch.setenv("NNSTUDIO_DISTORTION_HELPERS", "processes")  # as a run has them
    before = chunk_folders()
    trainer = Trainer(TrainingConfig(max_epochs=3, batch_size=50, elastic_alpha=30), small_split, progress_interval=0)
    run = trainer.run()
    for event in run:
        if isinstance(event, BatchProgress):
            assert helpers() and chunk_folders() - before  # distorting ahead, into files in memory
            if how == "stop requested":
                trainer.request_stop()
                list(run)  # the run ends itself at the next batch
                assert trainer.result.reason == "stopped"
            break
    run.close()  # the generator's exit, as a worker's cancelled job does
    assert not helpers() and chunk_folders() == before


def test_a_closed_prefetcher_refuses_work_and_helper_counts_follow_the_cores(images):
    prefetcher = Prefetcher(Augmenter(DISTORTED, seed=0), images, workers=2)
    prefetcher.close()
    prefetcher.close()  # twice is harmless
    with pytest.raises(RuntimeError, match="closed"):
        prefetcher.take(1, np.arange(len(images)), 0, BATCH, np.empty((BATCH, 784), np.float32))
    assert distortion_workers(1, cores=2) == 1  # this machine, headless: one helper
    assert distortion_workers(1, cores=16) == 15
    assert distortion_workers(4, cores=16, app_open=True) == 11
    assert distortion_workers(2, cores=2, app_open=True) == 1  # always at least one


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_when_a_helper_process_dies_threads_go_on_with_the_same_pixels(images):
    import signal

    order = np.random.default_rng(1).permutation(len(images))
    expected = epoch_through(Prefetcher(Augmenter(DISTORTED, seed=3), images, workers=0, chunk_images=128), order)
    prefetcher = Prefetcher(Augmenter(DISTORTED, seed=3), images, workers=1, chunk_images=128, processes=True)
    out = np.empty((len(order), images.shape[1]), np.float32)
    try:
        for b in range(-(-len(order) // BATCH)):
            if b == 2:
                for pid in helpers():
                    os.kill(int(pid), signal.SIGKILL)
            prefetcher.take(1, order, b, BATCH, out[b * BATCH:(b + 1) * BATCH])
        assert prefetcher.made_here > 1  # besides the short first chunk: what the helper had, made here
    finally:
        prefetcher.close()
    np.testing.assert_array_equal(out, expected)
    assert not helpers()


def test_with_no_room_in_memory_for_chunks_threads_distort_them(images, monkeypatch):
    def full(fd, offset, length):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", full, raising=False)
    order = np.random.default_rng(2).permutation(len(images))
    expected = epoch_through(Prefetcher(Augmenter(DISTORTED, seed=4), images, workers=0, chunk_images=128), order)
    before = chunk_folders()
    prefetcher = Prefetcher(Augmenter(DISTORTED, seed=4), images, workers=1, chunk_images=128, processes=True)
    try:
        np.testing.assert_array_equal(epoch_through(prefetcher, order), expected)
        assert chunk_folders() == before  # the processes' folder went with them
        assert [t for t in helpers() if isinstance(t, threading.Thread)]  # threads took over
    finally:
        prefetcher.close()
    assert not helpers()


def test_the_chunk_folder_of_a_killed_run_is_removed_by_the_next(images, tmp_path):
    import subprocess

    from nnstudio.core.helper_processes import remove_orphans
    from nnstudio.core.shared_data import scratch_root
    import tempfile

    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    root = Path(scratch_root() or tempfile.gettempdir())
    orphan, mine = root / f"nnstudio-chunks-{ended.pid}-test", root / f"nnstudio-chunks-{os.getpid()}-test"
    for folder in (orphan, mine):
        folder.mkdir()
        (folder / "chunk-1.u8").write_bytes(b"\0" * 16)
    try:
        remove_orphans()
        assert not orphan.exists() and mine.exists()  # a folder of a running process stays
    finally:
        for folder in (orphan, mine):
            if folder.exists():
                (folder / "chunk-1.u8").unlink()
                folder.rmdir()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_work_for_helpers_that_have_all_ended_fails_at_once_and_never_waits(images):
    import signal

    from nnstudio.core.helper_processes import HelperError, HelperProcesses

    augmenter = Augmenter(DISTORTED, seed=0)
    helpers_ = HelperProcesses(2, augmenter, images)
    try:
        for pid in helpers():
            os.kill(int(pid), signal.SIGKILL)
        rows, name = helpers_.buffer((64, 784))
        for _ in range(3):  # whether a helper's end is already known or found on handing the work out
            with pytest.raises(HelperError):
                helpers_.submit(rows, name, np.arange(64), 1, 0, DISTORTED, pooled=True, warps=64).result(timeout=60)
    finally:
        helpers_.close()
    assert not helpers()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_environment_can_ask_for_helper_threads(images, monkeypatch):
    order = np.arange(len(images))
    for kind in ("threads", "processes"):
        monkeypatch.setenv("NNSTUDIO_DISTORTION_HELPERS", kind)
        prefetcher = Prefetcher(Augmenter(DISTORTED, seed=0), images, workers=1, chunk_images=128)
        try:
            epoch_through(prefetcher, order)
            threads = [h for h in helpers() if isinstance(h, threading.Thread)]
            assert (bool(threads), len(helpers()) > len(threads)) == (kind == "threads", kind == "processes")
        finally:
            prefetcher.close()
