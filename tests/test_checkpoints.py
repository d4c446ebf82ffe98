"""Checkpoints: every epoch's weights, bounded and evenly thinned, saved beside the model and read back safely."""

import json
import zipfile

import numpy as np
import pytest

from nnstudio.core.checkpoints import (CHECKPOINTS, MAX_CHECKPOINTS, Checkpoints, load_checkpoints,
                                       save_checkpoints)
from nnstudio.core.config import TrainingConfig
from nnstudio.core.evaluation import evaluate
from nnstudio.core.model_file import ModelFileError, load_model
from nnstudio.core.network import Network
from nnstudio.core.run_folder import load_run, save_run
from nnstudio.core.trainer import Trainer


@pytest.fixture(scope="module")
def trained(small_split):
    trainer = Trainer(TrainingConfig(hidden=(32,), max_epochs=4, patience=0, learning_rate=0.3), small_split)
    snapshots = {}
    for event in trainer.run():
        if hasattr(event, "val_loss"):
            snapshots[event.epoch] = trainer.network.copy_parameters()
    return trainer, snapshots


def params(seed, sizes=(4, 3, 2)):
    return Network(sizes, seed=seed).copy_parameters()


def test_the_trainer_keeps_every_epochs_weights(trained):
    trainer, snapshots = trained
    kept = trainer.checkpoints
    assert kept.epochs == [1, 2, 3, 4] and kept.best_epoch == trainer.result.best_epoch
    for epoch, expected in snapshots.items():
        got = kept.get(epoch).parameters
        assert all(np.array_equal(a, b) for a, b in zip(got, expected))
        assert not got[0].flags.writeable
    best = kept.get(trainer.result.best_epoch).network("relu")
    assert all(np.array_equal(a, b) for a, b in zip(best.parameters(), trainer.network.parameters()))


def test_past_the_count_bound_they_thin_evenly_keeping_first_latest_and_best():
    kept = Checkpoints(max_count=8)
    p = params(0)
    for epoch in range(1, 40):
        kept.add(epoch, p, best=epoch == 13)
        assert len(kept) <= 8
    epochs = kept.epochs
    assert epochs[0] == 1 and epochs[-1] == 39 and 13 in epochs
    grid = [e for e in epochs if e not in (13, 39)]
    assert len(set(np.diff(grid))) == 1 and len(grid) >= 4  # an even grid
    assert kept.nearest(20).epoch in epochs and abs(kept.nearest(20).epoch - 20) <= np.diff(grid)[0] / 2
    with pytest.raises(KeyError, match="no checkpoint of epoch 2"):
        kept.get(2)
    default = Checkpoints()
    for epoch in range(1, 70):
        default.add(epoch, p)
    assert len(default) <= MAX_CHECKPOINTS and default.epochs[0] == 1 and default.epochs[-1] == 69


def test_past_the_byte_bound_they_thin_too():
    p = params(1, (100, 50, 10))
    size = sum(a.nbytes for a in p)
    kept = Checkpoints(max_bytes=5 * size)
    for epoch in range(1, 21):
        kept.add(epoch, p)
    assert len(kept) <= 5 and kept.nbytes <= 5 * size and kept.epochs[-1] == 20
    tiny = Checkpoints(max_bytes=size)  # room for one: the latest
    for epoch in range(1, 4):
        tiny.add(epoch, p, best=epoch == 1)
    assert tiny.epochs == [3]


def test_checkpoints_round_trip_through_the_run_folder(tmp_path, trained, small_split):
    trainer, _ = trained
    folder = save_run(tmp_path / "run", trainer)
    run = load_run(folder)
    assert run.checkpoints_path == folder / CHECKPOINTS and run.checkpoints_path.is_file()
    saved = load_checkpoints(run.checkpoints_path)
    assert saved.checkpoints.epochs == [1, 2, 3, 4] and saved.sizes == (784, 32, 10)
    assert saved.checkpoints.best_epoch == trainer.result.best_epoch and saved.activation == "relu"
    for epoch in (1, 4):
        original = trainer.checkpoints.get(epoch).network("relu")
        loaded = saved.network(epoch)
        assert all(np.array_equal(a, b) for a, b in zip(loaded.parameters(), original.parameters()))
    first = evaluate(saved.network(1), small_split.x_test, small_split.y_test)
    last = evaluate(saved.network(4), small_split.x_test, small_split.y_test)
    assert not np.array_equal(first.confusion, last.confusion)
    model = load_model(run.model_path).network
    assert all(np.array_equal(a, b) for a, b in
               zip(model.parameters(), saved.network(trainer.result.best_epoch).parameters()))


def rewrite(path, meta=None, arrays=None, drop=()):
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist() if n.removesuffix(".npy") not in drop}
    out = {}
    for name, data in members.items():
        out[name] = data
    if meta is not None:
        import io
        buffer = io.BytesIO()
        np.save(buffer, np.array(json.dumps(meta)))
        out["metadata.npy"] = buffer.getvalue()
    for key, value in (arrays or {}).items():
        import io
        buffer = io.BytesIO()
        np.save(buffer, value, allow_pickle=True)
        out[f"{key}.npy"] = buffer.getvalue()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in out.items():
            z.writestr(name, data)


@pytest.fixture
def good_file(tmp_path):
    kept = Checkpoints()
    for epoch in (1, 2, 3):
        kept.add(epoch, params(epoch), best=epoch == 2)
    return save_checkpoints(tmp_path / CHECKPOINTS, kept, "tanh")


def test_a_good_file_loads(good_file):
    saved = load_checkpoints(good_file)
    assert saved.checkpoints.epochs == [1, 2, 3] and saved.activation == "tanh" and saved.checkpoints.best_epoch == 2
    assert np.array_equal(saved.network(2).weights[0], Network((4, 3, 2), seed=2).weights[0])
    assert [p.name for p in good_file.parent.iterdir()] == [CHECKPOINTS]  # no temporary file left


@pytest.mark.parametrize("damage, message", [
    (dict(meta={"format": "nnstudio-model"}), "not an nnstudio checkpoints file"),
    (dict(meta={"format": "nnstudio-checkpoints", "format_version": 9}), "version 9 is not supported"),
    (dict(meta={"format": "nnstudio-checkpoints", "format_version": 1, "sizes": [4, 3, 2], "activation": "relu",
                "epochs": list(range(1, 100))}), "99 checkpoints, more than the 64"),
    (dict(meta={"format": "nnstudio-checkpoints", "format_version": 1, "sizes": [4, 3, 2], "activation": "relu",
                "epochs": [1, 1]}), "not a list of distinct positive integers"),
    (dict(meta={"format": "nnstudio-checkpoints", "format_version": 1, "sizes": [4, -3, 2], "activation": "relu",
                "epochs": [1]}), "layer sizes"),
    (dict(arrays={"e2_W0": np.zeros((5, 3))}), "array e2_W0 has shape (5, 3)"),
    (dict(arrays={"e2_b1": np.array([None, None], dtype=object)}), "pickled objects"),
    (dict(arrays={"e9_W0": np.zeros((4, 3))}), "unexpected arrays"),
    (dict(arrays={"e1_W1": np.full((3, 2), np.nan)}), "NaN or infinite"),
    (dict(drop=("e3_b0",)), "missing array e3_b0"),
])
def test_damaged_files_are_refused_with_a_reason(good_file, damage, message):
    rewrite(good_file, **damage)
    with pytest.raises(ModelFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_checkpoints(good_file)


def test_not_a_zip_and_a_missing_file(tmp_path):
    (tmp_path / "x.npz").write_bytes(b"hello")
    with pytest.raises(ModelFileError, match="not an .npz archive"):
        load_checkpoints(tmp_path / "x.npz")
    with pytest.raises(ModelFileError, match="no such file"):
        load_checkpoints(tmp_path / "missing.npz")
    with pytest.raises(ValueError, match="no checkpoints to save"):
        save_checkpoints(tmp_path / "empty.npz", Checkpoints(), "relu")
