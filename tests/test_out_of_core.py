"""Training on data larger than the memory the process may add."""

import sys

import numpy as np
import pytest

from skvae import AutoencoderTransformer, VAETransformer


def anonymous_rss_bytes():
    """Resident anonymous memory (pages of mapped files do not count)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("RssAnon not found")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
@pytest.mark.parametrize("estimator_class", [AutoencoderTransformer, VAETransformer])
def test_fit_on_a_memory_map_streams_instead_of_copying(tmp_path, estimator_class):
    n_rows, n_features = 400_000, 64  # 102 MB of float32
    data = np.lib.format.open_memmap(
        tmp_path / "X.npy", mode="w+", dtype=np.float32, shape=(n_rows, n_features)
    )
    rng = np.random.RandomState(0)
    for start in range(0, n_rows, 50_000):
        data[start : start + 50_000] = rng.normal(size=(50_000, n_features))
    data.flush()
    del data
    X = np.load(tmp_path / "X.npy", mmap_mode="r")

    # Warm up torch's allocator and lazy imports on a small fit first.
    estimator_class(max_iter=1, batch_size=256, random_state=0).fit(X[:1000])
    before = anonymous_rss_bytes()
    model = estimator_class(max_iter=1, batch_size=256, random_state=0).fit(X)
    added = anonymous_rss_bytes() - before
    assert added < 0.25 * X.nbytes, f"fit added {added / 2**20:.0f} MiB for a {X.nbytes / 2**20:.0f} MiB map"
    assert np.all(np.isfinite(model.transform(X[:100])))
