"""The optimiser's state is kept with the best weights: "+1 epoch" and a run resumed from its folder
go on exactly as the run would have gone without a pause."""

import numpy as np
import pytest

from nnstudio.core.config import TrainingConfig
from nnstudio.core.model_file import ModelFileError, load_model, save_model
from nnstudio.core.reports import EpochReport
from nnstudio.core.run_folder import MODEL, resume_trainer, save_run
from nnstudio.core.trainer import Trainer

SETTINGS = {"sgd-momentum": dict(optimizer="sgd", momentum=0.9, learning_rate=0.05),
            "adam": dict(optimizer="adam", learning_rate=0.002, dropout=0.2)}


@pytest.fixture(scope="module")
def data(small_split):
    return small_split.head(600, 200, 200)


def config_of(kind: str) -> TrainingConfig:
    return TrainingConfig(hidden=(32,), batch_size=50, max_epochs=2, patience=0, seed=4, **SETTINGS[kind])


def reports(trainer, epochs=None):
    return [e for e in trainer.run(epochs) if isinstance(e, EpochReport)]


def same_epoch(a: EpochReport, b: EpochReport) -> None:
    assert a.epoch == b.epoch
    assert a.train_loss == pytest.approx(b.train_loss, rel=1e-5)
    assert a.val_loss == pytest.approx(b.val_loss, rel=1e-5)
    assert a.val_accuracy == b.val_accuracy


def same_weights(a, b) -> None:
    for p, q in zip(a.parameters, b.parameters):
        np.testing.assert_allclose(p, q, rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module", params=list(SETTINGS))
def straight(request, data):
    trainer = Trainer(config_of(request.param), data)
    reports(trainer)
    assert trainer.epoch == 2 and trainer.history[0].improved
    return request.param, trainer


def test_one_more_epoch_goes_on_as_if_never_stopped(straight, data):
    kind, two = straight
    trainer = Trainer(config_of(kind), data)
    reports(trainer, 1)
    assert trainer.optimizer_state  # momentum or moments, kept with epoch 1's weights
    reports(trainer, 1)
    same_epoch(trainer.history[1], two.history[1])
    same_weights(trainer.checkpoints.get(2), two.checkpoints.get(2))


def test_a_run_resumed_from_its_folder_goes_on_exactly(straight, data, tmp_path):
    kind, two = straight
    first = Trainer(config_of(kind), data)
    reports(first, 1)
    folder = save_run(tmp_path / "run", first)
    saved = load_model(folder / MODEL)
    assert saved.optimizer_state.keys() == first.optimizer_state.keys()
    if kind == "adam":
        assert int(saved.optimizer_state["steps"]) == 12  # 600 images in batches of 50
    resumed = resume_trainer(folder, data)
    assert resumed.epoch == 1 and [r.epoch for r in resumed.history] == [1]
    reports(resumed, 1)
    same_epoch(resumed.history[1], two.history[1])
    same_weights(resumed.checkpoints.get(2), two.checkpoints.get(2))
    assert resumed.result.best_epoch == two.result.best_epoch

    # Without the optimiser's state the second epoch differs: the check above can fail.
    save_model(folder / MODEL, saved.network, metadata=saved.metadata)
    forgetful = resume_trainer(folder, data)
    reports(forgetful, 1)
    assert forgetful.history[1].train_loss != pytest.approx(two.history[1].train_loss, rel=1e-5)


def test_a_model_file_without_optimiser_state_still_loads(tmp_path, data):
    trainer = Trainer(config_of("sgd-momentum").replace(momentum=0.0), data)
    reports(trainer, 1)
    path = save_model(tmp_path / "m.npz", trainer.network, metadata={"name": "old"})
    saved = load_model(path)
    assert saved.optimizer_state == {} and "optimizer_state" not in saved.metadata


@pytest.mark.parametrize("declared, message", [
    ({"arrays": ["velocity9"], "steps": 0}, "does not fit"),
    ({"arrays": ["secret0"], "steps": 0}, "does not fit"),
    ({"arrays": ["m0"], "steps": -1}, "step count"),
    ("all of it", "does not fit"),
])
def test_a_damaged_optimiser_state_is_a_clear_error(tmp_path, straight, declared, message):
    _, trainer = straight
    path = save_model(tmp_path / "m.npz", trainer.network, metadata={}, optimizer_state=trainer.optimizer_state)
    saved = load_model(path)
    import json
    import zipfile

    meta = dict(saved.metadata, optimizer_state=declared)
    arrays = {"metadata": np.array(json.dumps(meta))}
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name != "metadata.npy":
                with z.open(name) as f:
                    arrays[name.removesuffix(".npy")] = np.lib.format.read_array(f)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ModelFileError, match=message):
        load_model(tmp_path / "bad.npz")


def test_an_optimiser_array_of_the_wrong_shape_is_refused(tmp_path, straight):
    _, trainer = straight
    state = dict(trainer.optimizer_state)
    first = sorted(k for k in state if k != "steps")[0]
    state[first] = np.zeros((3, 3), np.float32)
    path = save_model(tmp_path / "m.npz", trainer.network, optimizer_state=state)
    with pytest.raises(ModelFileError, match="shape"):
        load_model(path)


def test_a_resumed_run_takes_up_the_live_settings_it_ended_with(tmp_path, data):
    from nnstudio.core.augment import Augmentation

    trainer = Trainer(config_of("sgd-momentum").replace(max_epochs=1), data, progress_interval=0)
    for event in trainer.run():
        if isinstance(event, EpochReport) or trainer.setting_changes:
            continue
        trainer.set_learning_rate(0.02)
        trainer.set_dropout(0.3)
        trainer.set_augmentation(Augmentation(rotate=5))
    assert {c.name for c in trainer.setting_changes} == {"learning_rate", "dropout", "augment rotate"}
    resumed = resume_trainer(save_run(tmp_path / "live", trainer), data)
    assert (resumed.learning_rate, resumed.dropout, resumed.augmentation.rotate) == (0.02, 0.3, 5.0)
    assert resumed.momentum == 0.9 and resumed.patience == 0


def test_a_run_cannot_be_resumed_on_other_data(tmp_path, data):
    import dataclasses

    trainer = Trainer(config_of("adam").replace(max_epochs=1), data)
    reports(trainer)
    folder = save_run(tmp_path / "run", trainer)
    with pytest.raises(ModelFileError, match="other data"):
        resume_trainer(folder, dataclasses.replace(data, checksum="another data set"))
