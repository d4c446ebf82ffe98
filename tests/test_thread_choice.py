"""The thread count: measured up to a cap (cores headless, cores - 1 in the app), set by --threads, saved."""

from contextlib import contextmanager

import pytest
from threadpoolctl import threadpool_limits

from nnstudio.cli.train import main
from nnstudio.core.config import TrainingConfig
from nnstudio.core.model_file import load_model
from nnstudio.core.thread_choice import ThreadChoice, app_cap, candidate_counts, choose_threads, usable_cores


def test_counts_tried_are_powers_of_two_and_the_cap():
    assert candidate_counts(1) == [1]
    assert candidate_counts(2) == [1, 2]
    assert candidate_counts(6) == [1, 2, 4, 6]
    assert candidate_counts(16) == [1, 2, 4, 8, 16]


def test_the_app_leaves_the_window_a_core():
    assert app_cap(2) == 1 and app_cap(1) == 1 and app_cap(16) == 15
    assert app_cap() == max(1, usable_cores() - 1)


def test_one_allowed_thread_is_chosen_without_measuring(small_split):
    calls = []
    choice = choose_threads(TrainingConfig(), small_split, lambda n: calls.append(n), cap=1)
    assert choice == ThreadChoice(1, "one core") and calls == []
    assert "only one" in choice.describe()


def test_a_batch_too_large_to_time_takes_every_allowed_thread_unmeasured(small_split):
    calls = []
    config = TrainingConfig(hidden=(4096, 4096), batch_size=30000)  # minutes a batch: not measured
    choice = choose_threads(config, small_split, lambda n: calls.append(n), cap=4)
    assert choice.threads == 4 and "large products" in choice.reason and calls == []
    assert choice.describe() == "4 threads (large products: every thread allowed)"


def test_every_count_up_to_the_cap_is_timed_under_its_own_limit(small_split):
    limits = []

    @contextmanager
    def limit(n):
        limits.append(n)
        with threadpool_limits(limits=n):
            yield

    config = TrainingConfig(hidden=(32,), momentum=0.9, batch_size=50)
    choice = choose_threads(config, small_split, limit, cap=3, batches=6, rounds=2)
    assert choice.reason == "measured" and choice.threads in (1, 2, 3)
    assert set(choice.seconds) == {1, 2, 3} and all(s > 0 for s in choice.seconds.values())
    assert sorted(set(limits)) == [1, 2, 3] and len(limits) == 3 * 3  # a warm-up round and two timed rounds
    assert f"{choice.threads} thread" in choice.describe() and "ms" in choice.describe()


def test_threads_flag_is_used_shown_and_saved(tmp_path, mnist_dir, capsys):
    out = tmp_path / "run"
    code = main(["--data-dir", str(mnist_dir), "--epochs", "1", "--hidden", "16", "--threads", "1",
                 "--out", str(out), "--quiet"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert "threads: 1 thread (as set)" in lines
    assert load_model(out / "model.npz").metadata["summary"]["threads"] == 1


@pytest.mark.parametrize("value", ["0", "two", "-3"])
def test_bad_thread_counts_exit_2_with_a_message(value, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--threads", value])
    assert exit_.value.code == 2
    assert "threads must be a whole number, 1 or more" in capsys.readouterr().err
