"""Run folders: what a trainer saves is what the runs list reads back."""

import csv

import pytest
from hostile import set_encrypted_flag

from nnstudio.core.config import TrainingConfig
from nnstudio.core.model_file import ModelFileError, load_model
from nnstudio.core.run_folder import HISTORY, MODEL, list_runs, load_run, new_run_folder, read_history_csv, save_run
from nnstudio.core.trainer import Trainer


@pytest.fixture(scope="module")
def trained(small_split):
    trainer = Trainer(TrainingConfig(max_epochs=3, patience=2, learning_rate=0.2), small_split)
    list(trainer.run())
    return trainer


def test_saved_run_reads_back(tmp_path, trained):
    folder = save_run(new_run_folder(tmp_path), trained, name="lr 0.2")
    assert {p.name for p in folder.iterdir()} == {MODEL, HISTORY, "checkpoints.npz"}
    run = load_run(folder)
    assert run.name == "lr 0.2" and run.config == trained.config
    assert run.history == tuple(trained.history)
    assert run.summary["test_accuracy"] == trained.result.test_accuracy
    assert run.summary["best_epoch"] == trained.result.best_epoch and run.summary["epochs"] == 3
    assert {k: run.live_settings[k] for k in ("learning_rate", "momentum", "patience")} == \
        {"learning_rate": 0.2, "momentum": 0.0, "patience": 2}
    assert run.live_settings["dropout"] == 0.0 and run.live_settings["augment_rotate"] == 0.0
    assert run.setting_changes == ()
    net = load_model(run.model_path).network
    assert net.evaluate(trained.data.x_test, trained.data.y_test)[1] == trained.result.test_accuracy


def test_history_csv_has_the_seed_columns(tmp_path, trained):
    folder = save_run(tmp_path / "r", trained)
    with open(folder / HISTORY) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3
    for column in ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "learning_rate", "seconds"):
        assert column in rows[0]
    assert float(rows[2]["val_accuracy"]) == trained.history[2].val_accuracy
    assert read_history_csv(folder / HISTORY) == tuple(trained.history)


def test_list_runs_reads_every_run_and_reports_broken_ones(tmp_path, trained):
    first = save_run(new_run_folder(tmp_path), trained, name="one")
    second = save_run(new_run_folder(tmp_path), trained, name="two")
    assert first != second
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / MODEL).write_text("not a model")
    (tmp_path / "not-a-run").mkdir()
    runs, problems = list_runs(tmp_path)
    assert [r.name for r in runs] == ["one", "two"]
    assert len(problems) == 1 and problems[0].folder == broken and "not an .npz archive" in problems[0].reason
    assert list_runs(tmp_path / "missing") == ([], [])


@pytest.mark.parametrize("damage", [
    {"config": []}, {"history": {"a": 1}}, {"history": [[1, 2]]}, {"summary": "ab"},
    {"history": [{"val_loss": 1}]}, {"history": [{"epoch": "one"}]}, {"live_settings": [0.1]},
    {"summary": {"test_accuracy": "high"}}, {"live_settings": {"learning_rate": "fast"}},
    {"setting_changes": {"a": 1}}, {"setting_changes": [{"epoch": 0, "batch": 0, "batches": 1, "name": "dropout",
                                                         "old": 0, "new": 0.5}]},
    {"setting_changes": [{"epoch": 1, "batch": 0, "batches": 1, "name": "dropout", "old": 0, "new": "x"}]},
])
def test_malformed_run_metadata_is_a_reason_not_a_crash(tmp_path, trained, damage):
    from nnstudio.core.model_file import load_model as load, save_model

    folder = save_run(tmp_path / "run", trained)
    saved = load(folder / MODEL)
    save_model(folder / MODEL, saved.network, metadata={**saved.metadata, **damage})
    runs, problems = list_runs(tmp_path)
    assert runs == [] and len(problems) == 1 and "run: unreadable run" in str(problems[0])


# --- issue 8: a malformed run folder is an unreadable run with a reason, never an exception ----------


def damage_metadata(folder, **changes):
    """Rewrite the run's model file with ``changes`` merged into its metadata (valid weights kept)."""
    from nnstudio.core.model_file import load_model as load, save_model

    saved = load(folder / MODEL)
    save_model(folder / MODEL, saved.network, metadata={**saved.metadata, **changes})


def only_unreadable(root):
    runs, problems = list_runs(root)
    assert runs == [] and len(problems) == 1
    return problems[0]


def test_infinity_epoch_is_an_unreadable_run(tmp_path, trained):
    folder = save_run(tmp_path / "inf", trained)
    rows = [dict(r) for r in read_metadata_rows(folder)]
    rows[0]["epoch"] = float("inf")  # json writes it as the bare token Infinity
    damage_metadata(folder, history=rows)
    problem = only_unreadable(tmp_path)
    assert problem.folder == folder and "epoch is inf" in problem.reason
    with pytest.raises(ModelFileError, match="inf: unreadable run"):
        load_run(folder)


def read_metadata_rows(folder):
    from nnstudio.core.model_file import read_metadata

    return read_metadata(folder / MODEL)["history"]


@pytest.mark.parametrize("where", ["summary", "live_settings", "history", "config"])
def test_400_digit_integer_is_an_unreadable_run_or_ignored(tmp_path, trained, where):
    folder = save_run(tmp_path / "big", trained)
    huge = 10 ** 400
    if where == "history":
        rows = [dict(r) for r in read_metadata_rows(folder)]
        rows[1]["best_epoch"] = huge
        damage_metadata(folder, history=rows)
    elif where == "config":  # a config the app cannot use: the run still lists, without it
        damage_metadata(folder, config={**trained.config.to_dict(), "hidden": [huge]})
        runs, problems = list_runs(tmp_path)
        assert problems == [] and runs[0].config is None and runs[0].history == tuple(trained.history)
        return
    else:
        damage_metadata(folder, **{where: {"best_epoch" if where == "summary" else "momentum": huge}})
    assert "out of range" in only_unreadable(tmp_path).reason or "whole number" in only_unreadable(tmp_path).reason


def test_encrypted_flag_zip_entries_are_an_unreadable_run(tmp_path, trained):
    folder = save_run(tmp_path / "locked", trained)
    set_encrypted_flag(folder / MODEL)
    assert "encrypted" in only_unreadable(tmp_path).reason


def test_history_rows_missing_fields_are_an_unreadable_run(tmp_path, trained):
    folder = save_run(tmp_path / "partial", trained)
    rows = [{"epoch": r["epoch"], "train_loss": r["train_loss"]} for r in read_metadata_rows(folder)]
    damage_metadata(folder, history=rows)
    assert "without val_loss" in only_unreadable(tmp_path).reason


@pytest.mark.parametrize("text", ["epoch,train_loss\nInfinity,1\n", "epoch,val_loss\n1,nan\n",
                                  "epoch,train_loss\n" + "9" * 400 + ",1\n", "epoch\n1\n", "\x00\xff\xfe" * 50])
def test_malformed_history_csv_is_an_unreadable_run(tmp_path, trained, text):
    folder = save_run(tmp_path / "csv", trained)
    damage_metadata(folder, history=None)  # the CSV is then what the history is read from
    (folder / HISTORY).write_bytes(text.encode("latin-1"))
    assert only_unreadable(tmp_path).folder == folder


@pytest.mark.parametrize("text", ["", "epoch\n"])
def test_history_csv_without_rows_lists_with_an_empty_history(tmp_path, trained, text):
    folder = save_run(tmp_path / "csv", trained)
    damage_metadata(folder, history=None)
    (folder / HISTORY).write_bytes(text.encode("latin-1"))
    runs, problems = list_runs(tmp_path)
    assert problems == [] and runs[0].history == ()


def test_non_text_name_and_deep_json_are_an_unreadable_run(tmp_path, trained):
    folder = save_run(tmp_path / "odd", trained)
    damage_metadata(folder, name={"a": [1, 2]})
    assert "expected text" in only_unreadable(tmp_path).reason


def test_list_runs_survives_a_deleted_or_odd_runs_folder(tmp_path, trained):
    assert list_runs(tmp_path / "gone") == ([], [])
    file_not_folder = tmp_path / "file"
    file_not_folder.write_text("x")
    assert list_runs(file_not_folder) == ([], [])
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    assert list_runs(loop) == ([], [])
    root = tmp_path / "runs"
    save_run(root / "good", trained)
    (root / "model-is-a-folder").mkdir()
    (root / "model-is-a-folder" / MODEL).mkdir()
    (root / "looping").mkdir()
    (root / "looping" / MODEL).symlink_to(root / "looping" / MODEL)
    runs, problems = list_runs(root)
    assert [r.folder.name for r in runs] == ["good"]
    assert sorted(p.folder.name for p in problems) == ["looping", "model-is-a-folder"]
    assert all(p.reason for p in problems)


def test_every_live_change_is_recorded_with_its_place_and_read_back(tmp_path, small_split):
    from nnstudio.core.augment import Augmentation
    from nnstudio.core.reports import EpochReport

    trainer = Trainer(TrainingConfig(max_epochs=2, batch_size=100, hidden=(16,), optimizer="rmsprop",
                                     learning_rate=0.001), small_split.head(600, 200, 200), progress_interval=0)
    for event in trainer.run():
        if isinstance(event, EpochReport) and event.epoch == 1:
            trainer.set_dropout(0.25)
            trainer.set_input_dropout(0.1)
            trainer.set_momentum(0.5)
            trainer.set_augmentation(Augmentation(rotate=10, noise=0.05))
    assert trainer.optimizer.momentum == 0.5  # RMSprop's momentum is live, as SGD's
    run = load_run(save_run(tmp_path / "live", trainer))
    names = {c.name: (c.epoch, c.batch, c.old, c.new) for c in run.setting_changes}
    assert names == {"dropout": (2, 0, 0.0, 0.25), "input_dropout": (2, 0, 0.0, 0.1), "momentum": (2, 0, 0.0, 0.5),
                     "augment rotate": (2, 0, 0.0, 10.0), "augment noise": (2, 0, 0.0, 0.05)}
    assert run.setting_changes == tuple(trainer.setting_changes)
    assert run.live_settings["dropout"] == 0.25 and run.live_settings["input_dropout"] == 0.1
    assert run.live_settings["augment_rotate"] == 10.0 and run.live_settings["augment_noise"] == 0.05
    assert run.live_settings["momentum"] == 0.5


def test_a_run_saved_before_setting_changes_were_recorded_still_loads(tmp_path, trained):
    folder = save_run(tmp_path / "old", trained)
    from nnstudio.core.model_file import load_model as load, save_model

    saved = load(folder / MODEL)
    meta = {k: v for k, v in saved.metadata.items() if k != "setting_changes"}
    meta["live_settings"] = {"learning_rate": 0.2, "momentum": 0.0, "patience": 2}
    save_model(folder / MODEL, saved.network, metadata=meta)
    run = load_run(folder)
    assert run.setting_changes == () and run.live_settings == {"learning_rate": 0.2, "momentum": 0.0, "patience": 2}

