"""Run folders: what a trainer saves is what the runs list reads back."""

import csv

import pytest

from nnstudio.core.config import TrainingConfig
from nnstudio.core.model_file import load_model
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
    assert run.live_settings == {"learning_rate": 0.2, "momentum": 0.0, "patience": 2}
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
    assert len(problems) == 1 and "not an .npz archive" in problems[0]
    assert list_runs(tmp_path / "missing") == ([], [])


@pytest.mark.parametrize("damage", [
    {"config": []}, {"history": {"a": 1}}, {"history": [[1, 2]]}, {"summary": "ab"},
    {"history": [{"val_loss": 1}]}, {"history": [{"epoch": "one"}]}, {"live_settings": [0.1]},
    {"summary": {"test_accuracy": "high"}}, {"live_settings": {"learning_rate": "fast"}},
])
def test_malformed_run_metadata_is_a_reason_not_a_crash(tmp_path, trained, damage):
    from nnstudio.core.model_file import load_model as load, save_model

    folder = save_run(tmp_path / "run", trained)
    saved = load(folder / MODEL)
    save_model(folder / MODEL, saved.network, metadata={**saved.metadata, **damage})
    runs, problems = list_runs(tmp_path)
    assert runs == [] and len(problems) == 1 and "run: unreadable run" in problems[0]
