"""SciPy sparse input: one-hot and text features, densified one batch at a time."""

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from sklearn.compose import make_column_transformer
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skvae import (
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    VAEImputer,
    VAEOutlierDetector,
    VAETransformer,
)
from skvae._column_statistics import column_statistics, observed_counts, rows_without_observed, value_range
from skvae._table import TableEncoder
from skvae._tensors import SparseRows, map_rows

ESTIMATORS = [AutoencoderTransformer, VAETransformer, AutoencoderOutlierDetector, VAEOutlierDetector]
SPARSE_FORMATS = [sp.csr_matrix, sp.csc_matrix, sp.csr_array, sp.csc_array]


def make(estimator_class, **params):
    if issubclass(estimator_class, VAETransformer):
        params.setdefault("n_importance_samples", 8)
    params.setdefault("max_iter", 5)
    return estimator_class(n_components=2, hidden_layer_sizes=(16,), random_state=0, **params)


@pytest.fixture(autouse=True)
def quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        yield


def sparse_rows(n_rows=150, n_columns=30, density=0.1, seed=0, dtype=np.float64):
    """Dense rows with mostly zeros (as one-hot or TF-IDF features are)."""
    return sp.random(
        n_rows, n_columns, density=density, format="csr", random_state=seed, dtype=dtype
    ).toarray()


# -- the table layer -------------------------------------------------------------


def test_column_statistics_of_sparse_x_match_the_dense_array():
    X = sparse_rows()
    X[[3, 7], [2, 5]] = np.nan  # stored NaN: missing cells; implicit zeros: observed zeros
    dense = column_statistics(X)[:3]
    for ours, expected in zip(column_statistics(sp.csr_matrix(X))[:3], dense, strict=True):
        np.testing.assert_allclose(ours, expected, atol=1e-12)


def test_sparse_x_has_no_constant_column_to_pin_as_it_is_never_standardised():
    # A bag of words is mostly all-zero columns; finding and pinning them costs more than it buys.
    X = np.zeros((7, 3))
    X[:, 1] = 0.1
    X[::2, 2] = 1.0
    table = TableEncoder()
    table.fit_encode(AutoencoderTransformer(), sp.csr_matrix(X))
    assert table.constant == []


def test_sparse_rows_after_a_dense_fit_end_the_pinning_of_a_column_their_zeros_change():
    X = np.random.RandomState(0).normal(size=(60, 4))
    X[:, 2] = 1.0  # constant in fit, pinned to 1.0
    model = AutoencoderTransformer(max_iter=2, random_state=0).fit(X)
    assert model._table.constant == [2]
    model.partial_fit(sp.csr_matrix(np.where(np.arange(4) == 2, 0.0, X[:20])))
    assert model._table.constant == []
    model.partial_fit(sp.csr_matrix(X[:20]))  # ones again: nothing more to end


def test_rows_and_range_helpers_read_implicit_zeros_as_observed():
    X = np.array([[np.nan, np.nan], [0.0, np.nan], [0.5, 0.0]])
    csr = sp.csr_matrix(X)
    np.testing.assert_array_equal(rows_without_observed(csr), [0])
    np.testing.assert_array_equal(rows_without_observed(X), [0])
    assert value_range(csr) == value_range(X) == (0.0, 0.5)
    assert value_range(sp.csr_matrix(np.array([[0.2, 0.7]]))) == (0.2, 0.7)


def test_observed_counts_read_implicit_zeros_as_observed_and_dense_x_a_chunk_at_a_time():
    X = np.array([[np.nan, np.nan, 1.0], [0.0, np.nan, 2.0], [0.5, 0.0, np.nan]])
    np.testing.assert_array_equal(observed_counts(sp.csr_matrix(X), [0, 1, 2]), [2, 1, 2])
    np.testing.assert_array_equal(observed_counts(X, [2, 0]), [2, 2])
    np.testing.assert_array_equal(observed_counts(X, [0, 1, 2], chunk_cells=3), [2, 1, 2])  # a row a chunk


def test_sparse_rows_give_dense_float32_batches():
    X = sp.csr_matrix(sparse_rows(dtype=np.float64))
    rows = SparseRows(X, torch.device("cpu"))
    assert rows.shape == X.shape
    batch = rows[torch.tensor([5, 0, 9])]
    assert batch.dtype == torch.float32
    np.testing.assert_array_equal(batch.numpy(), X.toarray()[[5, 0, 9]].astype(np.float32))
    np.testing.assert_array_equal(rows[2:4].numpy(), X.toarray()[2:4].astype(np.float32))


def test_map_rows_densifies_wide_sparse_x_in_small_chunks():
    X = sp.random(300, 100_000, density=1e-4, format="csr", random_state=0, dtype=np.float32)
    widths = []

    def row_sums(chunk):
        widths.append(chunk.shape[0])
        return chunk.sum(dim=1)

    sums = map_rows(row_sums, X, torch.device("cpu"), np.float32)
    np.testing.assert_allclose(sums, np.asarray(X.sum(axis=1)).ravel(), rtol=1e-6)
    assert max(widths) < 300  # never the 8192-row chunk of dense input


@pytest.mark.parametrize("value", [1e39, 1e300])
def test_values_beyond_float32_are_refused_without_numpy_warnings_first(value):
    X = sp.csr_matrix(np.array([[value, 0.0], [0.0, 1.0]]))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no overflow in the column statistics
        with pytest.raises(ValueError, match="too large for dtype"):
            AutoencoderTransformer(max_iter=1).fit(X)


# -- the estimators --------------------------------------------------------------


@pytest.mark.parametrize("estimator_class", ESTIMATORS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fit_on_sparse_x_matches_fit_on_the_dense_array(estimator_class, dtype):
    X = sparse_rows().astype(dtype)
    dense = make(estimator_class).fit(X)
    for container in SPARSE_FORMATS:
        fitted = make(estimator_class).fit(container(X))
        for ours, theirs in zip(fitted._networks().parameters(), dense._networks().parameters(), strict=True):
            torch.testing.assert_close(ours, theirs, rtol=1e-6, atol=1e-6)
        assert fitted.loss_curve_ == pytest.approx(dense.loss_curve_, rel=1e-5)


@pytest.mark.parametrize("estimator_class", ESTIMATORS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sparse_rows_give_the_codes_and_scores_of_the_dense_rows(estimator_class, dtype):
    X = sparse_rows().astype(dtype)
    model = make(estimator_class).fit(X)
    codes, scores = model.transform(X), model.score_samples(X)
    for container in SPARSE_FORMATS:
        sparse_codes = model.transform(container(X))
        assert isinstance(sparse_codes, np.ndarray) and sparse_codes.dtype == dtype
        np.testing.assert_allclose(sparse_codes, codes, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(model.score_samples(container(X)), scores, rtol=1e-5, atol=1e-4)
        if hasattr(model, "predict"):
            np.testing.assert_array_equal(model.predict(container(X)), model.predict(X))
            np.testing.assert_allclose(
                model.feature_contributions(container(X)), model.feature_contributions(X), atol=1e-4
            )
    reconstruction = model.inverse_transform(model.transform(sp.csr_matrix(X)))
    assert isinstance(reconstruction, np.ndarray) and reconstruction.shape == X.shape


@pytest.mark.parametrize("estimator_class", [AutoencoderTransformer, VAETransformer])
def test_partial_fit_and_early_stopping_take_sparse_x(estimator_class):
    X = sparse_rows()
    streamed, dense = make(estimator_class), make(estimator_class)
    for chunk in np.array_split(X, 3):
        streamed.partial_fit(sp.csr_matrix(chunk))
        dense.partial_fit(chunk)
    np.testing.assert_allclose(streamed.transform(X), dense.transform(X), rtol=1e-5, atol=1e-5)
    stopped = make(estimator_class, early_stopping=True).fit(sp.csr_matrix(X))
    reference = make(estimator_class, early_stopping=True).fit(X)
    assert stopped.validation_scores_ == pytest.approx(reference.validation_scores_, rel=1e-5)


def test_a_stored_nan_is_a_missing_cell():
    X = sparse_rows()
    X[[1, 4, 8], [0, 3, 6]] = np.nan
    dense = make(VAEOutlierDetector).fit(X)
    fitted = make(VAEOutlierDetector).fit(sp.csr_matrix(X))
    np.testing.assert_allclose(fitted.score_samples(sp.csr_matrix(X)), dense.score_samples(X), rtol=1e-5)
    empty = sp.csr_matrix(np.vstack([X[:3], np.full((1, X.shape[1]), np.nan)]))
    with pytest.raises(ValueError, match=r"row\(s\) with no observed value \(rows 3\)"):
        fitted.score_samples(empty)


@pytest.mark.parametrize("fill_value", [np.nan, 1.0])
def test_a_pandas_sparse_column_that_leaves_out_another_value_than_0_reads_it_as_that(fill_value):
    # pandas' default fill value of a float column is NaN: the cells it leaves out are missing
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 4))
    X[rng.rand(60, 4) < 0.3] = fill_value
    X[np.isnan(X).all(axis=1), 0] = 0.0
    dense = pd.DataFrame(X, columns=list("abcd"))
    sparse = dense.astype(pd.SparseDtype(float, fill_value))
    model = make(VAEOutlierDetector).fit(dense)
    np.testing.assert_array_equal(model.score_samples(sparse), model.score_samples(dense))
    np.testing.assert_array_equal(
        make(VAEOutlierDetector).fit(sparse).score_samples(dense), model.score_samples(dense)
    )


def test_bernoulli_range_counts_implicit_zeros():
    X = sp.csr_matrix(sparse_rows())  # values in [0, 1)
    model = make(VAETransformer, likelihood="bernoulli").fit(X)
    with pytest.raises(ValueError, match=r"needs X in \[0, 1\]"):
        model.score_samples(-X)


def test_standardize_true_is_refused_for_sparse_x():
    X = sp.csr_matrix(sparse_rows())
    with pytest.raises(ValueError, match=r"standardize=True would centre X's columns"):
        AutoencoderTransformer(standardize=True, max_iter=1).fit(X)
    model = AutoencoderTransformer(standardize=True, max_iter=1).fit(X.toarray())
    with pytest.raises(ValueError, match=r"makes sparse X dense"):
        model.transform(X)


def test_categorical_columns_need_a_dense_table():
    X = sp.csr_matrix(sparse_rows())
    with pytest.raises(TypeError, match="Sparse X holds numbers only"):
        AutoencoderTransformer(categorical_features=[0], max_iter=1).fit(X)


@pytest.mark.parametrize("container", [sp.csr_matrix, sp.csc_array])
def test_the_imputer_refuses_sparse_x_and_says_why(container):
    X = sparse_rows()
    with pytest.raises(TypeError, match="VAEImputer does not accept sparse X"):
        VAEImputer(max_iter=1).fit(container(X))
    imputer = VAEImputer(max_iter=1, n_importance_samples=4).fit(X)
    with pytest.raises(TypeError, match="a dense array as large as X.toarray"):
        imputer.transform(container(X))


# -- the recipe ------------------------------------------------------------


@pytest.fixture(scope="module")
def shops():
    rng = np.random.RandomState(0)
    n = 600
    return pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "city": rng.choice([f"city{i}" for i in range(50)], size=n),
            "shop": rng.choice([f"shop{i}" for i in range(30)], size=n),
        }
    )


def recipe(estimator):
    return make_pipeline(
        make_column_transformer((StandardScaler(), ["x"]), (OneHotEncoder(), ["city", "shop"])), estimator
    )


def test_the_one_hot_recipe_is_sparse_and_runs_in_a_pipeline(shops):
    columns = recipe(None)[0]
    assert sp.issparse(columns.fit_transform(shops))  # what the user met
    pipeline = recipe(make(AutoencoderTransformer)).fit(shops)
    assert pipeline.transform(shops).shape == (len(shops), 2)
    detector = recipe(make(AutoencoderOutlierDetector)).fit(shops)
    assert set(np.unique(detector.predict(shops))) <= {-1, 1}


@pytest.mark.parametrize("estimator_class", [AutoencoderTransformer, VAETransformer])
def test_the_one_hot_recipe_is_tuned_by_grid_search(shops, estimator_class):
    search = GridSearchCV(
        recipe(make(estimator_class, max_iter=3)),
        {f"{estimator_class.__name__.lower()}__n_components": [2, 4]},
        cv=2,
    ).fit(shops)
    assert np.isfinite(search.best_score_)
    assert search.transform(shops).shape == (len(shops), search.best_params_[next(iter(search.best_params_))])
