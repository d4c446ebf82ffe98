"""Shared fixtures: where the real MNIST lies, loaded once per session."""

from __future__ import annotations

import atexit
import gc
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Where the environment sets PYTHONDONTWRITEBYTECODE (this machine's does), every test process, and
# every app, CLI or sweep worker the tests start, would compile the project's sources and pytest would
# rewrite the asserts of every test module again on each run: ~3 s of CPU a process, ~10 s a suite.
# Cache them in __pycache__ (ignored by git), as Python does by default.
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
# One BLAS thread everywhere, as the app runs: set before NumPy loads its BLAS (and for the
# subprocesses tests start), then pinned again below for a BLAS already loaded. A second BLAS thread
# spinning against a busy core makes timings, and so event orders, vary from run to run.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"
# Distortion on helper threads: a helper process costs each augmented run a process start (~0.3 s of
# CPU) for the same pixels; the tests of helper processes ask for them.
os.environ.setdefault("NNSTUDIO_DISTORTION_HELPERS", "threads")  # =processes: run them on processes
# README's test command gives a relative NNSTUDIO_DATA (../shared/mnist): make it absolute, since
# tests link its files from temporary folders and the app may change folders.
if os.environ.get("NNSTUDIO_DATA"):
    os.environ["NNSTUDIO_DATA"] = os.path.abspath(os.environ["NNSTUDIO_DATA"])

# Each test process (one per core under pytest-xdist) gets its own config and data homes, so no test
# and no app it starts ever reads or writes the user's settings, and two workers never share a file.
# (XDG_CACHE_HOME stays: fontconfig keeps its cache there; tests that download set their own.)
_HOMES = Path(tempfile.mkdtemp(prefix="nnstudio-tests-"))
atexit.register(shutil.rmtree, _HOMES, ignore_errors=True)
os.environ["XDG_CONFIG_HOME"] = str(_HOMES / "config")
os.environ["XDG_DATA_HOME"] = str(_HOMES / "share")

# Property tests draw the same examples on every run and in every worker (no example database).
settings.register_profile("nnstudio", derandomize=True, database=None, deadline=None)
settings.load_profile("nnstudio")

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session", autouse=True)
def one_blas_thread():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


# Tests that take seconds of CPU each (a run on real MNIST, a CLI process signalled mid-run) run first.
# Under pytest-xdist the last tests collected decide when the suite ends: Adam's 10 epochs on real MNIST
# (~8 s of CPU) came from the third-last file, and kept one core busy after the other had run out of
# tests. Named by (file, test function); a renamed test only loses its place at the front.
RUN_FIRST = (
    ("test_training_options.py", "test_adam_reaches_97_8_percent_in_10_epochs"),
    ("test_sweep_panel.py", "test_a_two_setting_sweep_fills_the_curves_table_and_heatmap_and_cancel_ends_one"),
    ("test_cli_train.py", "test_ctrl_c_ends_the_run_and_still_saves_it"),
    ("test_cli_train.py", "test_sigterm_is_treated_like_ctrl_c"),
    ("test_cli_train.py", "test_sigterm_before_the_first_epoch_leaves_no_run_folder"),
    ("test_preprocess.py", "test_bundled_model_reads_redrawn_test_digits"),
    ("test_cli_train.py", "test_a_short_run_writes_model_history_and_plot"),
    ("test_overfit_lab.py", "test_the_overfit_preset_shows_the_gap_opening"),
    ("test_train_step.py", "test_same_seed_same_weights_on_one_thread_or_two"),
    ("test_preprocess.py", "test_real_digits_redrawn_large_keep_their_accuracy"),
    ("test_trainer.py", "test_two_epochs_on_real_mnist_reach_95_percent"),
    ("test_training_set.py", "test_the_overfit_preset_overfits"),
    ("test_engine_options.py", "test_repeat_2_makes_two_run_folders_and_one_summary"),
)


def pytest_collection_modifyitems(config, items):
    """The tests of :data:`RUN_FIRST` first, in that order; the others keep theirs (a fixed order, as
    pytest-xdist needs every worker to collect the same)."""
    rank = {key: i for i, key in enumerate(RUN_FIRST)}

    def key(item) -> tuple[str, str]:
        return item.path.name, getattr(item, "originalname", item.name)

    first = sorted((item for item in items if key(item) in rank), key=lambda item: rank[key(item)])
    if first:
        chosen = set(map(id, first))
        items[:] = first + [item for item in items if id(item) not in chosen]


_after_gui_tests = False


@pytest.fixture(autouse=True)
def gui_garbage_collected_first(request):
    """The first test outside tests/gui after GUI tests collects their garbage here, on the main thread.

    GUI tests collect cycles on the GUI thread only (tests/gui/conftest.py); the windows they leave are
    freed later. A test without Qt that starts threads (a two-thread training step, say) would, left to
    Python's automatic collection, free those windows on whichever of its threads allocated."""
    global _after_gui_tests
    gui = "gui" in request.node.path.parent.parts[-1:]
    if not gui and _after_gui_tests:
        gc.collect()
    _after_gui_tests = gui
    yield


def real_mnist_dir() -> Path:
    """The folder of real MNIST: $NNSTUDIO_DATA, else ../shared/mnist beside the project."""
    configured = os.environ.get("NNSTUDIO_DATA")
    return Path(configured) if configured else PROJECT_ROOT.parent / "shared" / "mnist"


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    folder = real_mnist_dir()
    if not (folder / "train-images-idx3-ubyte.gz").exists() and not (folder / "train-images-idx3-ubyte").exists():
        pytest.fail(f"real MNIST not found in {folder}: set NNSTUDIO_DATA")
    return folder


@pytest.fixture(scope="session")
def mnist(mnist_dir):
    from nnstudio.core.mnist import load_mnist

    return load_mnist(mnist_dir)


@pytest.fixture(scope="session")
def split(mnist):
    """Real MNIST split as the seed did: the last 6,000 training images validate."""
    from nnstudio.core.dataset import split_mnist

    return split_mnist(mnist)


@pytest.fixture(scope="session")
def small_split(split):
    """A small real subset (3,000 / 1,000 / 1,000 images) for quick runs."""
    return split.head(3000, 1000, 1000)


def _train_quick_network(split):
    from nnstudio.core.config import TrainingConfig
    from nnstudio.core.trainer import Trainer

    trainer = Trainer(TrainingConfig(max_epochs=2, patience=0), split.head(20000, 1000, 1000))
    for _ in trainer.run():
        pass
    return trainer.network


@pytest.fixture(scope="session")
def quick_network(split, tmp_path_factory):
    """A network trained here, in seconds, on 20,000 real training digits (about 94% accurate).

    Trained once a suite: under pytest-xdist the first worker that needs it trains it (~2.4 s of CPU)
    and the others load that worker's copy from this run's own temporary folder."""
    try:
        import fcntl
    except ImportError:  # not a POSIX system: each worker trains its own
        fcntl = None
    if fcntl is None or not os.environ.get("PYTEST_XDIST_WORKER"):
        return _train_quick_network(split)
    import pickle

    shared = tmp_path_factory.getbasetemp().parent  # this run's folder, above every worker's own
    saved = shared / "quick_network.pickle"
    with open(shared / "quick_network.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if saved.exists():
            network = pickle.loads(saved.read_bytes())
            if hasattr(network, "_packed"):  # pickling copied the views: pack them again, as trained
                del network._packed
                network.packed_layers()
            return network
        network = _train_quick_network(split)
        partial = saved.with_suffix(".partial")
        partial.write_bytes(pickle.dumps(network))
        partial.replace(saved)
        return network
