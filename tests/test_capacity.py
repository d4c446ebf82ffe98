"""One parameter limit and a memory estimate, checked before a network is built; finite numbers only."""

import dataclasses
import math

import pytest

from nnstudio.core import capacity
from nnstudio.core.capacity import MAX_PARAMETERS, capacity_problems, parameter_count, training_bytes
from nnstudio.core.config import PRESETS, TrainingConfig
from nnstudio.core.network import Network


def test_parameter_count_matches_a_real_network():
    assert parameter_count((784, 128, 64, 10)) == Network((784, 128, 64, 10)).parameter_count


def test_parameter_limit_is_checked_by_the_config_before_training():
    with pytest.raises(ValueError, match=f"more than the limit of {MAX_PARAMETERS:,}"):
        TrainingConfig(hidden=(8192, 8192))
    TrainingConfig(hidden=(4096, 4096))  # 20 million parameters: allowed


def test_the_loader_refuses_at_the_same_limit(tmp_path):
    from nnstudio.core import model_file

    assert model_file.MAX_PARAMETERS is capacity.MAX_PARAMETERS


def test_too_many_layers_are_refused_before_anything_is_built():
    with pytest.raises(ValueError, match="at most 16 hidden layers, not 40"):
        TrainingConfig(hidden=(8192,) * 40)


def test_memory_estimate_refuses_what_will_not_fit():
    sizes = (784, 512, 10)
    needed = training_bytes(sizes, 60000)
    assert needed > 4 * 60000 * 512 * 3  # the batch's layer outputs dominate
    problems = capacity_problems((512,), 60000, available=needed)  # fits only with nothing else running
    assert len(problems) == 1 and "needs about" in problems[0] and "is free" in problems[0]
    assert capacity_problems((512,), 60000, available=10 * needed) == []
    assert capacity_problems((512,), 60000, available=None) == []  # unknown: only the hard limits
    assert training_bytes((784, 128, 64, 10), 64) < 50_000_000  # the seed's run needs little


def test_every_preset_fits_this_machine():
    for config in PRESETS.values():
        assert config.problems() == []
    assert capacity.available_memory() is None or capacity.available_memory() > 0


NUMERIC = [f.name for f in dataclasses.fields(TrainingConfig) if f.type in ("int", "float")]


@pytest.mark.parametrize("field", NUMERIC)
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, "1"])
def test_non_finite_values_are_refused_for_every_numeric_field(field, value):
    with pytest.raises(ValueError, match=f"{field.replace('_', ' ')} must be a finite number"):
        TrainingConfig().replace(**{field: value})


def test_fractional_counts_are_refused_and_whole_floats_accepted():
    with pytest.raises(ValueError, match="batch size must be a whole number"):
        TrainingConfig(batch_size=64.5)
    config = TrainingConfig.from_dict({"batch_size": 128.0, "seed": 3.0})
    assert config.batch_size == 128 and isinstance(config.batch_size, int) and config.seed == 3


def test_hidden_sizes_beyond_any_float_are_a_value_error():
    with pytest.raises(ValueError, match="whole numbers"):
        TrainingConfig(hidden=(10 ** 400,))


@pytest.mark.parametrize("value", [[1, 2], "seed", 3, None, {"hidden": 5}, {"hidden": {"a": 1}}, {"lr": 1}])
def test_config_from_json_that_is_not_an_object_is_a_value_error(value):
    if value == {"lr": 1}:  # unknown keys are ignored: the defaults
        assert TrainingConfig.from_dict(value) == TrainingConfig()
        return
    with pytest.raises(ValueError):
        TrainingConfig.from_dict(value)
