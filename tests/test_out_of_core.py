"""Training on data larger than the memory the process may add."""

import sys
import tracemalloc
import warnings

import numpy as np
import pytest

from skvae import AutoencoderTransformer, VAEImputer, VAETransformer


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


def numpy_peak_bytes(fn):
    """The most memory NumPy held at once while ``fn`` ran (torch's allocations are not traced)."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    "make, copies",
    [
        # The coded table (standardised) is the one copy of X a transform holds.
        (lambda: AutoencoderTransformer(standardize=True, max_iter=1, random_state=0), 1.5),
        # ... and an imputer's also the imputations and the mask of missing cells.
        (lambda: VAEImputer(max_iter=1, n_importance_samples=10, random_state=0), 3.0),
    ],
)
def test_transform_holds_a_few_copies_of_X_at_most(make, copies):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(50_000, 20)).astype(np.float32)
    X[rng.rand(*X.shape) < 0.1] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = make().fit(X[:2000])
    peak = numpy_peak_bytes(lambda: model.transform(X))
    assert peak < copies * X.nbytes, f"transform held {peak / X.nbytes:.1f} copies of X"
