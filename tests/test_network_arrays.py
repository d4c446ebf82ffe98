"""Building a network from arrays in hand: it predicts exactly as the network they came from."""

import numpy as np
import pytest

from nnstudio.core.network import Network
from nnstudio.core.network_arrays import network_from_arrays


def test_a_network_built_from_another_networks_arrays_predicts_the_same(quick_network, small_split):
    rebuilt = network_from_arrays(quick_network.weights, quick_network.biases, quick_network.activation)
    assert rebuilt.sizes == quick_network.sizes and rebuilt.weights[0] is not quick_network.weights[0]
    x = small_split.x_test[:200].astype(np.float32) / 255
    np.testing.assert_array_equal(rebuilt.predict_proba(x), quick_network.predict_proba(x))


@pytest.mark.parametrize("change, message", [
    (lambda w, b: (w, b[:-1]), "one bias per weight"),
    (lambda w, b: (w[::-1], b[::-1]), "do not follow"),
    (lambda w, b: (w, [b[0][:-1], *b[1:]]), "do not follow"),
])
def test_arrays_that_do_not_chain_are_refused(change, message):
    net = Network((12, 5, 3))
    with pytest.raises(ValueError, match=message):
        network_from_arrays(*change(net.weights, net.biases))
    with pytest.raises(ValueError, match="activation"):
        network_from_arrays(net.weights, net.biases, "softsign")
