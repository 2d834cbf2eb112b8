"""Every feature on every device torch offers here: the CPU always, a CUDA device where there is one.

The same checks run on both, so that on a machine with a GPU a failure is the GPU's, not the test's.
"""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch

from skvae import (
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    VAEImputer,
    VAEOutlierDetector,
    VAETransformer,
    load,
    save,
)

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
ESTIMATORS = [
    AutoencoderTransformer,
    VAETransformer,
    AutoencoderOutlierDetector,
    VAEOutlierDetector,
    VAEImputer,
]
DETECTORS = (AutoencoderOutlierDetector, VAEOutlierDetector)


def make(estimator_class, device, **params):
    params = {"hidden_layer_sizes": (16,), "max_iter": 4, "random_state": 0, "device": device, **params}
    return estimator_class(**params)


@pytest.fixture(scope="module")
def table():
    """A mixed table: numeric columns of other scales, a category and a string column, NaN in each."""
    rng = np.random.RandomState(0)
    n = 120
    latent = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "income": np.exp(10 + latent + 0.3 * rng.normal(size=n)),
            "age": 40 + 10 * latent + rng.normal(size=n),
            "score": rng.normal(size=n),
            "colour": pd.Categorical(np.where(latent > 0, "red", "blue")),
            "city": np.where(rng.uniform(size=n) > 0.5, "Oslo", "Rome").astype(object),
        }
    )
    for column, rows in [
        ("income", slice(0, None, 7)),
        ("colour", slice(3, None, 11)),
        ("city", slice(5, None, 13)),
    ]:
        frame.loc[frame.index[rows], column] = np.nan
    return frame


def on_device(estimator, device):
    return all(parameter.device.type == device for parameter in estimator._networks().parameters())


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("estimator_class", ESTIMATORS)
def test_a_mixed_table_with_missing_cells_fits_and_scores_on_the_device(estimator_class, device, table):
    before = table.copy()
    estimator = make(estimator_class, device).fit(table)
    assert on_device(estimator, device)
    assert np.isfinite(estimator.score_samples(table)).all()
    if estimator_class is VAEImputer:
        imputed = estimator.set_output(transform="pandas").transform(table)
        assert not imputed.isna().any().any()
        assert imputed["colour"].dtype == table["colour"].dtype
    else:
        assert np.isfinite(estimator.transform(table)).all()
    if issubclass(estimator_class, DETECTORS):
        contributions = estimator.feature_contributions(table)
        assert contributions.shape == table.shape
        assert np.isfinite(contributions.to_numpy()[table.notna().to_numpy()]).all()
    pd.testing.assert_frame_equal(table, before)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("estimator_class", ESTIMATORS)
def test_early_stopping_and_partial_fit_train_on_the_device(estimator_class, device, table):
    estimator = make(estimator_class, device, early_stopping=True, max_iter=6).fit(table)
    assert 1 <= estimator.n_iter_ <= 6
    before = estimator.score_samples(table)
    estimator.partial_fit(table)
    assert on_device(estimator, device)
    assert not np.array_equal(estimator.score_samples(table), before)


@pytest.mark.parametrize("device", DEVICES)
def test_posterior_draws_and_samples_come_from_the_device_and_repeat_with_a_seed(device, table):
    imputer = make(VAEImputer, device, sample_posterior=True).set_output(transform="pandas").fit(table)
    first, second = imputer.transform(table), imputer.transform(table)
    assert not first.equals(second)  # one draw per call
    refitted = make(VAEImputer, device, sample_posterior=True).set_output(transform="pandas").fit(table)
    # Bit-identical refits are promised on the CPU; a GPU's kernels may sum in another order.
    pd.testing.assert_frame_equal(refitted.transform(table), first, check_exact=device == "cpu", rtol=1e-3)
    vae = make(VAETransformer, device).fit(table)
    np.testing.assert_array_equal(vae.sample(5, random_state=0), vae.sample(5, random_state=0))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("estimator_class", [AutoencoderTransformer, VAEOutlierDetector])
def test_sparse_rows_train_on_the_device_as_their_dense_twins(estimator_class, device):
    X = sp.random(80, 12, density=0.3, format="csr", random_state=0, dtype=np.float64)
    from_sparse = make(estimator_class, device).fit(X)
    from_dense = make(estimator_class, device).fit(X.toarray())
    np.testing.assert_allclose(from_sparse.score_samples(X), from_dense.score_samples(X.toarray()), rtol=1e-5)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("estimator_class", ESTIMATORS)
def test_a_model_saved_from_the_device_loads_on_the_cpu_with_the_same_outputs(
    estimator_class, device, table, tmp_path
):
    estimator = make(estimator_class, device).fit(table)
    save(estimator, tmp_path / "model.skvae")
    loaded = load(tmp_path / "model.skvae")
    assert on_device(loaded, "cpu")
    np.testing.assert_allclose(
        loaded.score_samples(table), estimator.score_samples(table), rtol=1e-4, atol=1e-4
    )


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("estimator_class", [VAETransformer, AutoencoderOutlierDetector, VAEOutlierDetector])
def test_a_model_fitted_on_the_device_exports_to_onnx(estimator_class, device):
    onnxruntime = pytest.importorskip("onnxruntime")
    from skvae.onnx import to_onnx

    X = np.random.RandomState(0).normal(size=(60, 6)).astype(np.float32)
    X[::5, 2] = np.nan
    estimator = make(estimator_class, device).fit(X)
    session = onnxruntime.InferenceSession(to_onnx(estimator, X[:1]).SerializeToString())
    outputs = session.run(None, {"X": X})
    expected = estimator.transform(X) if estimator_class is VAETransformer else estimator.decision_function(X)
    np.testing.assert_allclose(outputs[-1].reshape(expected.shape), expected, rtol=1e-3, atol=1e-3)


def test_auto_takes_a_gpu_where_torch_sees_one_and_the_cpu_otherwise(table):
    estimator = make(VAEOutlierDetector, "auto").fit(table)
    assert on_device(estimator, "cuda" if torch.cuda.is_available() else "cpu")
    assert np.isfinite(estimator.score_samples(table)).all()
