"""Dask: chunked training through partial_fit, parallel inference, distributed search."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

from skvae import AutoencoderTransformer, VAETransformer

da = pytest.importorskip("dask.array", reason="the dask extra is not installed")
distributed = pytest.importorskip("dask.distributed", reason="the dask extra is not installed")
dask_ml_wrappers = pytest.importorskip("dask_ml.wrappers", reason="the dask extra is not installed")
joblib = pytest.importorskip("joblib")


@pytest.fixture(scope="module")
def client():
    # In-process workers on loopback keep CI light; closed after the module.
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def X():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(4000, 3)) @ rng.normal(size=(3, 10)) + 0.1 * rng.normal(size=(4000, 10))
    return X.astype(np.float32)


def reconstruction_error(model, X):
    return float(np.mean((model.inverse_transform(model.transform(X)) - X) ** 2))


def test_incremental_training_over_chunks_matches_in_memory_fit(client, X):
    passes = 10
    incremental = dask_ml_wrappers.Incremental(
        AutoencoderTransformer(n_components=3, random_state=0), shuffle_blocks=False
    )
    chunks = da.from_array(X, chunks=(500, 10))
    for _ in range(passes):
        incremental.partial_fit(chunks)
    streamed = incremental.estimator_
    assert streamed.n_iter_ == passes * chunks.numblocks[0]
    in_memory = AutoencoderTransformer(n_components=3, max_iter=passes, tol=0.0, random_state=0).fit(X)
    assert reconstruction_error(streamed, X) <= 1.1 * reconstruction_error(in_memory, X)


@pytest.mark.parametrize("estimator_class", [AutoencoderTransformer, VAETransformer])
def test_parallel_post_fit_transforms_and_scores_dask_arrays(client, X, estimator_class):
    model = estimator_class(n_components=3, max_iter=5, random_state=0).fit(X)
    chunks = da.from_array(X, chunks=(1000, 10))
    wrapped = dask_ml_wrappers.ParallelPostFit(model)
    codes = wrapped.transform(chunks)
    assert isinstance(codes, da.Array)
    np.testing.assert_allclose(codes.compute(), model.transform(X), rtol=1e-6)
    scores = chunks.map_blocks(model.score_samples, drop_axis=1, dtype=np.float32)
    np.testing.assert_allclose(scores.compute(), model.score_samples(X), rtol=1e-6)


def test_grid_search_runs_on_the_dask_cluster(client, X):
    search = GridSearchCV(AutoencoderTransformer(max_iter=20, random_state=0), {"n_components": [1, 3]}, cv=2)
    with joblib.parallel_backend("dask"):
        search.fit(X)
    assert search.best_params_ == {"n_components": 3}


def test_dask_arrays_of_sparse_chunks_train_and_transform(client):
    sp = pytest.importorskip("scipy.sparse")
    X = sp.random(2000, 40, density=0.05, format="csr", random_state=0, dtype=np.float32).toarray()
    # One-hot or text features in a dask array: every block a CSR matrix.
    chunks = da.from_array(X, chunks=(500, 40)).map_blocks(sp.csr_matrix, dtype=np.float32)
    incremental = dask_ml_wrappers.Incremental(
        AutoencoderTransformer(n_components=3, random_state=0), shuffle_blocks=False
    )
    incremental.partial_fit(chunks)
    streamed = incremental.estimator_
    dense = AutoencoderTransformer(n_components=3, random_state=0)
    for block in np.split(X, 4):
        dense.partial_fit(block)
    np.testing.assert_allclose(streamed.transform(X), dense.transform(X), rtol=1e-5, atol=1e-6)
    codes = chunks.map_blocks(streamed.transform, chunks=(500, 3), dtype=np.float32)
    np.testing.assert_allclose(codes.compute(), streamed.transform(X), rtol=1e-6)
