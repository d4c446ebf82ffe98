"""The network at work on one input, and the neuron inspector's detail, on the bundled model."""

import numpy as np
import pytest

from nnstudio.core.model_file import load_model
from nnstudio.core.network import Network
from nnstudio.core.network_at_work import most_active, network_activity, neuron_detail
from nnstudio.resources import BUNDLED_MODEL


@pytest.fixture(scope="module")
def bundled():
    return load_model(BUNDLED_MODEL).network


def test_activity_of_a_real_digit(bundled, split):
    image = split.x_test[:20].astype(np.float32) / 255
    for x, label in zip(image, split.y_test[:20]):
        a = network_activity(bundled, x, max_units=16, max_connections=24)
        assert a.predicted == bundled.predict(x[None])[0]
        assert [layer.size for layer in a.layers] == [784, 400, 200, 10]
        assert [len(layer.shown) for layer in a.layers] == [16, 16, 16, 10]
        assert [layer.more for layer in a.layers] == [768, 384, 184, 0]
        h1 = np.maximum(x @ bundled.weights[0] + bundled.biases[0], 0)
        np.testing.assert_allclose(a.layers[1].values, h1, rtol=1e-5, atol=1e-5)
        # The shown units are the most active ones: none left out is more active.
        hidden = np.setdiff1d(np.arange(400), a.layers[1].shown)
        assert h1[a.layers[1].shown].min() >= h1[hidden].max() - 1e-6
        for c in a.connections:
            assert len(c.contributions) <= 24
            assert np.isin(c.sources, a.layers[c.layer].shown).all()
            assert np.isin(c.targets, a.layers[c.layer + 1].shown).all()
            expected = a.layers[c.layer].values[c.sources] * bundled.weights[c.layer][c.sources, c.targets]
            np.testing.assert_allclose(c.contributions, expected, rtol=1e-6)
            assert np.all(np.diff(np.abs(c.contributions)) <= 1e-12)  # strongest first
        assert np.any(a.connections[1].contributions < 0) or np.any(a.connections[2].contributions < 0)


def test_most_active_uses_magnitude_for_tanh():
    v = np.array([0.1, -0.9, 0.5, 0.0])
    np.testing.assert_array_equal(most_active(v, 2, "relu"), [0, 2])
    np.testing.assert_array_equal(most_active(v, 2, "tanh"), [1, 2])
    np.testing.assert_array_equal(most_active(v, 9), [0, 1, 2, 3])


def test_neuron_detail_adds_up(bundled, split):
    x = split.x_test[0].astype(np.float32) / 255
    d = neuron_detail(bundled, x, 1, 7)
    assert d.weighted_sum == pytest.approx(float(x @ bundled.weights[0][:, 7]), rel=1e-5, abs=1e-5)
    assert d.output == pytest.approx(max(d.weighted_sum + d.bias, 0), rel=1e-5, abs=1e-5)
    np.testing.assert_array_equal(d.as_image(d.incoming), bundled.weights[0][:, 7].reshape(28, 28))
    np.testing.assert_allclose(d.as_image(d.contributions), (x * bundled.weights[0][:, 7]).reshape(28, 28), rtol=1e-6)
    top = np.abs(d.contributions[d.strongest])
    assert len(d.strongest) == 8 and np.all(np.diff(top) <= 0) and top[-1] >= np.sort(np.abs(d.contributions))[-8]
    out = neuron_detail(bundled, x, 3, 2)
    assert out.as_image(out.incoming) is None
    assert out.output == pytest.approx(out.weighted_sum + out.bias, rel=1e-5, abs=1e-5)
    with pytest.raises(ValueError, match="no unit"):
        neuron_detail(bundled, x, 1, 400)
    with pytest.raises(ValueError, match="no unit"):
        neuron_detail(bundled, x, 0, 0)


def test_a_blank_input_draws_no_connections_from_silent_pixels():
    net = Network((784, 20, 10), seed=0)
    a = network_activity(net, np.zeros(784, np.float32))
    assert len(a.connections[0].contributions) == 0
