"""Groups of repeats on disk: their runs know their group, and a stopped group leaves nothing behind."""

import threading

from nnstudio.core.config import TrainingConfig
from nnstudio.core.repeats import GROUP_FILE, group_runs, new_group_folder, run_repeats, write_group_file
from nnstudio.core.run_folder import list_runs, save_run
from nnstudio.core.trainer import Trainer


def test_the_runs_of_a_group_are_listed_as_its_runs(tmp_path, small_split):
    trainer = Trainer(TrainingConfig(hidden=(8,), max_epochs=1), small_split.head(300, 100, 100))
    list(trainer.run())
    save_run(tmp_path / "alone", trainer)
    group = new_group_folder(tmp_path, 2)
    assert group.name.endswith("-x2") and new_group_folder(tmp_path, 2) != group
    write_group_file(group, trainer.config, [])
    for k in range(2):
        save_run(group / f"seed-{k}", trainer)
    runs, problems = list_runs(tmp_path)
    assert problems == [] and len(runs) == 3
    assert {r.folder.name: r.group for r in runs} == {"alone": None, "seed-0": group, "seed-1": group}
    (found,) = group_runs(runs)
    assert found.folder == group and len(found.runs) == 2
    assert found.summary_text().startswith(f"{100 * trainer.result.test_accuracy:.2f}% ± 0.00")


def test_repeats_stopped_before_they_begin_leave_no_folder(tmp_path, mnist):
    stop = threading.Event()
    stop.set()
    folder = tmp_path / "group"
    results = list(run_repeats(TrainingConfig(hidden=(8,), max_epochs=1, train_size=200), None, 2, folder,
                               workers=1, stop=stop, data=mnist))
    assert all(not r.folder and r.reason == "stopped" for r in results)
    assert not folder.exists()
    kept = tmp_path / "kept"
    kept.mkdir()
    list(run_repeats(TrainingConfig(hidden=(8,), max_epochs=1, train_size=200), None, 1, kept, workers=1,
                     stop=stop, data=mnist))
    assert kept.exists() and not (kept / GROUP_FILE).exists()  # a folder it did not make stays, empty
