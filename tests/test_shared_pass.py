"""One forward pass per (network, sketch), shared by every view of the sketch."""

import numpy as np
import pytest

from nnstudio.core.layer_math import forward
from nnstudio.core.network import Network
from nnstudio.core.network_at_work import network_activity, neuron_detail
from nnstudio.core.saliency import saliency
from nnstudio.core.shared_pass import REMEMBERED, forget, shared_forward


def test_the_same_network_and_input_share_one_pass_equal_to_a_fresh_one():
    forget()
    rng = np.random.default_rng(3)
    net = Network((784, 20, 10), seed=rng)
    x = rng.random((28, 28)).astype(np.float32)
    run = shared_forward(net, x)
    assert shared_forward(net, x.copy()) is run  # equal input, same network: the same pass
    fresh = forward(net, x.reshape(1, -1))
    for a, b in zip(run.outputs, fresh.outputs):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError):
        run.logits[0, 0] = 1.0  # shared: nobody may change it
    # A different input, or another network with equal weights, is another pass.
    y = x.copy()
    y[3, 4] += 0.5
    assert shared_forward(net, y) is not run
    twin = net.copy()
    assert shared_forward(twin, x) is not run
    # The views read it: their results are those of a fresh pass.
    a = network_activity(net, x)
    np.testing.assert_array_equal(a.layers[-1].values, fresh.logits[0])
    d = neuron_detail(net, x, 1, 5)
    assert d.output == pytest.approx(float(fresh.outputs[1][0, 5]))
    s = saliency(net, x)
    assert s.predicted == int(fresh.logits[0].argmax())


def test_only_the_last_few_passes_are_kept():
    forget()
    rng = np.random.default_rng(4)
    net = Network((6, 4, 3), seed=rng)
    inputs = [rng.random(6) for _ in range(REMEMBERED + 1)]
    first = shared_forward(net, inputs[0])
    for x in inputs[1:]:
        shared_forward(net, x)
    assert shared_forward(net, inputs[0]) is not first  # forgotten: computed again
    assert shared_forward(net, inputs[-1]) is shared_forward(net, inputs[-1])
