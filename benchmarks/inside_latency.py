"""The core of the "Inside the network" views for one sketch, on the bundled model.

    NNSTUDIO_DATA=../shared/mnist python benchmarks/inside_latency.py [--digits 500]

For real test digits (standing in for sketches): the network at work (every layer, the
most active units, the strongest connections), the saliency of the predicted digit and
the runner-up, and the detail of one neuron; plus the neuron lab's test accuracy of an
edited network over the 10,000 test images. One BLAS thread.
Targets: network view + saliency well under 15 ms p99; lab accuracy <= 1 s.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

from nnstudio.core.mnist import load_mnist, resolve_data_dir
from nnstudio.core.model_file import load_model
from nnstudio.core.network_at_work import network_activity, neuron_detail
from nnstudio.core.neuron_lab import accuracy, switch_off
from nnstudio.core.saliency import saliency
from nnstudio.resources import BUNDLED_MODEL


def figures(samples: list[float]) -> str:
    a = np.array(samples) * 1000
    return f"p50 {np.percentile(a, 50):6.2f} ms   p99 {np.percentile(a, 99):6.2f} ms   max {a.max():6.2f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", type=int, default=500)
    parser.add_argument("--data-dir")
    args = parser.parse_args()
    mnist = load_mnist(resolve_data_dir(args.data_dir))
    network = load_model(BUNDLED_MODEL).network
    print(f"bundled model {network.sizes}")
    images = mnist.test_images[:args.digits].astype(np.float32) / 255
    activity, sal, detail, total = [], [], [], []
    with threadpool_limits(limits=1):
        for image in images[:20]:  # warm-up
            network_activity(network, image), saliency(network, image)
        for image in images:
            t0 = time.perf_counter()
            a = network_activity(network, image)
            t1 = time.perf_counter()
            saliency(network, image)
            t2 = time.perf_counter()
            neuron_detail(network, image, 2, int(a.layers[2].shown[0]))
            t3 = time.perf_counter()
            activity.append(t1 - t0)
            sal.append(t2 - t1)
            detail.append(t3 - t2)
            total.append(t3 - t0)
        x, y = mnist.test_images.reshape(len(mnist.test_images), -1), mnist.test_labels.astype(np.intp)
        lab = []
        for unit in range(5):
            t0 = time.perf_counter()
            accuracy(switch_off(network, 2, unit), x, y)
            lab.append(time.perf_counter() - t0)
    print(f"{args.digits} digits")
    print(f"  network at work   {figures(activity)}")
    print(f"  saliency (2 maps) {figures(sal)}")
    print(f"  neuron detail     {figures(detail)}")
    print(f"  all three         {figures(total)}")
    print(f"  lab: edit + test accuracy on 10,000 images: median {np.median(lab) * 1000:.0f} ms, "
          f"max {max(lab) * 1000:.0f} ms (target <= 1000 ms)")
    p99 = np.percentile(np.array(total) * 1000, 99)
    ok = p99 <= 15 and max(lab) <= 1
    print(f"targets: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
