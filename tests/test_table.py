"""Tables as the estimators read them: missing cells (NaN) and categorical columns."""

import math
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning

from skvae import (
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    VAEImputer,
    VAEOutlierDetector,
    VAETransformer,
    load,
    save,
)
from skvae._column_statistics import column_statistics
from skvae._table import TableEncoder

ESTIMATORS = [AutoencoderTransformer, VAETransformer, AutoencoderOutlierDetector, VAEOutlierDetector]


def make(estimator_class, **params):
    if issubclass(estimator_class, VAETransformer):
        params.setdefault("n_importance_samples", 16)
    params.setdefault("max_iter", 20)
    return estimator_class(n_components=2, hidden_layer_sizes=(16,), random_state=0, **params)


@pytest.fixture(autouse=True)
def quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        yield


def low_rank(n_rows=300, seed=0):
    rng = np.random.RandomState(seed)
    z = rng.normal(size=(n_rows, 2))
    return z @ rng.normal(size=(2, 6)) + 0.1 * rng.normal(size=(n_rows, 6))


def hide(X, rate=0.2, seed=1):
    X = X.copy()
    X[np.random.RandomState(seed).rand(*X.shape) < rate] = np.nan
    X[np.isnan(X).all(axis=1), 0] = 0.0  # every row keeps an observed cell
    return X


def mixed_frame(n_rows=300, seed=0):
    """Two numeric columns of very different scales and a category the first one decides."""
    rng = np.random.RandomState(seed)
    z = rng.normal(size=n_rows)
    return pd.DataFrame(
        {
            "income": np.exp(10 + 0.5 * z + 0.1 * rng.normal(size=n_rows)),
            "score": z + 0.1 * rng.normal(size=n_rows),
            "band": pd.Categorical(np.where(z > 0, "high", "low")),
        }
    )


# -- column statistics and the encoder ------------------------------------------------


def test_column_statistics_match_numpy_chunk_by_chunk():
    X = hide(np.random.RandomState(0).normal(3, 2, size=(2000, 4)), rate=0.3)
    X[:, 3] = np.nan  # a column with no observed value
    counts, means, variances, lows, highs = column_statistics(X, chunk_cells=512)  # chunks of 128 rows
    np.testing.assert_array_equal(counts, (~np.isnan(X)).sum(axis=0))
    np.testing.assert_allclose(means[:3], np.nanmean(X[:, :3], axis=0), rtol=1e-12)
    np.testing.assert_allclose(variances[:3], np.nanvar(X[:, :3], axis=0), rtol=1e-10)
    np.testing.assert_array_equal(lows[:3], np.nanmin(X[:, :3], axis=0))
    np.testing.assert_array_equal(highs[:3], np.nanmax(X[:, :3], axis=0))
    assert (means[3], variances[3], lows[3], highs[3]) == (0, 0, np.inf, -np.inf)


@pytest.mark.parametrize("value", [0.1, 1e6 + 0.1, 7.0])
def test_a_constant_column_is_centred_on_its_value_with_scale_one_though_its_variance_rounds_above_0(value):
    X = np.random.RandomState(0).normal(size=(7, 3))
    X[:, 1] = value
    counts, means, variances, _, _ = column_statistics(X)
    assert value == 7.0 or (means[1] != value and variances[1] > 0)  # what rounding leaves
    table = TableEncoder(standardize=True)
    coded = table.fit_encode(AutoencoderTransformer(), X)
    assert table.constant == [1]
    assert table.center[1] == value and table.scale[1] == 1.0
    np.testing.assert_array_equal(coded[:, 1], 0.0)
    np.testing.assert_allclose(table.scale[[0, 2]], X[:, [0, 2]].std(axis=0))


def test_a_column_of_tiny_relative_spread_is_no_constant():
    # Nanosecond timestamps: a spread of 1e-13 of their size, which a bound on the variance's
    # rounding error would have taken for none.
    X = np.random.RandomState(0).normal(size=(1000, 2))
    X[:, 1] = 1.7e18 + np.random.RandomState(1).randint(0, 300_000, size=1000)
    table = TableEncoder(standardize=True)
    coded = table.fit_encode(AutoencoderTransformer(), X)
    assert table.constant == [] and coded[:, 1].std() == pytest.approx(1, abs=0.01)


def test_a_column_of_values_whose_squares_underflow_is_scaled_by_its_range():
    X = np.random.RandomState(0).normal(size=(100, 2))
    X[:, 1] *= 1e-200  # its variance is 0 in float64
    table = TableEncoder(standardize=True)
    coded = table.fit_encode(AutoencoderTransformer(), X)
    assert table.constant == [] and table.scale[1] == np.ptp(X[:, 1])
    assert 0.1 < coded[:, 1].std() < 1
    imputer = VAEImputer(max_iter=2, random_state=0).fit(X)
    hidden = X[:5].copy()
    hidden[:, 1] = np.nan
    assert np.abs(imputer.transform(hidden)[:, 1]).max() < np.abs(X[:, 1]).max()


def test_a_constant_column_decodes_as_its_value_and_a_later_call_that_varies_it_ends_that():
    X = np.random.RandomState(0).normal(size=(40, 3))
    X[:, 2] = 0.1
    for standardize in (True, False):
        table = TableEncoder(standardize=standardize)
        coded = table.fit_encode(AutoencoderTransformer(), X)
        networks_output = coded + 0.01  # a decoder's near miss
        decoded = table.decode(AutoencoderTransformer(), networks_output.copy(), as_frame=False)
        np.testing.assert_array_equal(decoded[:, 2], 0.1)
        estimator = AutoencoderTransformer()
        assert table.still_constant(estimator, coded[:5]) is table
        later = X[:5].copy()
        later[0, 2] = np.nan  # a missing cell varies nothing
        assert table.still_constant(estimator, table.encode(estimator, later)) is table
        # Nor does the value as float32 holds it (0.10000000149): the networks read float32.
        assert table.still_constant(estimator, table.encode(estimator, later.astype(np.float32))) is table
        later[1, 2] = 0.2
        varied = table.still_constant(estimator, table.encode(estimator, later))
        assert varied.constant == [] and table.constant == [2]  # a new table: the old one stays


def test_a_column_constant_in_the_first_call_that_varies_later_warns_that_it_reads_unscaled():
    X = low_rank()
    first, later = X[:150].copy(), X[150:].copy()
    first[:, 0] = 5.0
    model = make(VAETransformer, standardize=True, max_iter=1).partial_fit(first)
    with pytest.warns(UserWarning, match=r"Column\(s\) \[0\] had one value in the rows .* vary here"):
        model.partial_fit(later)
    assert model._table.constant == []


@pytest.mark.parametrize("estimator_class", ESTIMATORS)
def test_unstandardised_columns_that_lose_what_the_networks_need_warn_with_what_to_do(estimator_class):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 3))
    timestamps = X.copy()
    timestamps[:, 1] = 1.7e9 + 100 * timestamps[:, 1]
    for data, message in [(timestamps, r"column\(s\) \[1\] vary by less than 1/10,000"), (X * 1e-3, "0.00")]:
        with pytest.warns(UserWarning, match=message + ".* StandardScaler in front"):
            make(estimator_class, max_iter=1).fit(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        make(estimator_class, max_iter=1).fit(X)  # scales near 1
        make(estimator_class, max_iter=1, standardize=False).fit(X * 1e-3)  # the user's choice
        make(estimator_class, max_iter=1, standardize=True).fit(timestamps)


def test_a_model_of_a_table_with_a_constant_column_scores_new_values_in_it_finitely():
    frame = mixed_frame()
    frame["flag"] = 0.1  # one value; its variance rounds to 2e-34
    model = make(VAEOutlierDetector).fit(frame)
    new = frame.iloc[[0, 0, 0]].copy()
    new["flag"] = [0.1, 0.1 + 1e-3, 0.2]  # 1e-6 off moves the score by 5e-7 nats, below float32's resolution
    scores = model.score_samples(new)
    assert np.isfinite(scores).all() and scores[0] > scores[1] > scores[2]
    assert np.isfinite(model.transform(new)).all()


def test_categorical_columns_become_one_hot_blocks_and_come_back():
    frame = mixed_frame()
    estimator = AutoencoderTransformer()
    table = TableEncoder().fit_encode(estimator, frame)
    assert estimator.n_features_in_ == 3
    np.testing.assert_array_equal(estimator.feature_names_in_, ["income", "score", "band"])
    encoder = estimator_table(frame)
    assert table.shape == (300, 4)  # two numbers, two categories
    np.testing.assert_allclose(table[:, :2].mean(axis=0), 0, atol=1e-12)  # standardised: a mixed table
    np.testing.assert_array_equal(table[:, 2:].sum(axis=1), 1)
    back = encoder.decode(estimator, table, as_frame=True)
    np.testing.assert_allclose(back["income"], frame["income"])
    assert back["band"].dtype == frame["band"].dtype
    np.testing.assert_array_equal(back["band"], frame["band"])


@pytest.mark.parametrize("estimator_class", [AutoencoderTransformer, VAETransformer])
def test_a_category_the_numbers_decide_is_learnt_and_reconstructed(estimator_class):
    # band is "high" exactly where score > 0: the category's term must reach the training loss.
    frame = mixed_frame()
    model = make(estimator_class, max_iter=60).fit(frame)
    back = model.inverse_transform(model.transform(frame))
    assert (back["band"] == frame["band"]).mean() > 0.9


def estimator_table(frame):
    estimator = AutoencoderTransformer()
    encoder = TableEncoder()
    encoder.fit_encode(estimator, frame)
    return encoder


def test_a_missing_category_is_a_nan_block():
    frame = mixed_frame()
    frame.loc[3, "band"] = np.nan
    coded = TableEncoder().fit_encode(AutoencoderTransformer(), frame)
    assert np.isnan(coded[3, 2:]).all()
    assert not np.isnan(coded[3, :2]).any()


@pytest.mark.parametrize(
    "categorical_features", [["band"], [2], [False, False, True], np.array([False, False, True])]
)
def test_categorical_features_by_name_index_or_mask(categorical_features):
    frame = mixed_frame().astype({"band": object})
    frame["band"] = frame["band"].map({"high": 1, "low": 0}).astype(float)  # codes, read as numbers by dtype
    assert TableEncoder().fit_encode(AutoencoderTransformer(), frame).shape[1] == 3
    table = TableEncoder(categorical_features)
    assert table.fit_encode(AutoencoderTransformer(), frame).shape[1] == 4
    assert table.categories == [[0.0, 1.0]]


@pytest.mark.parametrize("as_pandas", [pd.Index, pd.Series])
def test_categorical_features_as_pandas_names_go_on_training_and_save(as_pandas, tmp_path):
    # df.select_dtypes("category").columns, say.
    frame = mixed_frame(60).assign(kind=lambda f: f["band"].astype(str))
    model = make(AutoencoderTransformer, max_iter=1, categorical_features=as_pandas(["band", "kind"]))
    model.fit(frame)
    pickle.loads(pickle.dumps(model)).partial_fit(frame)
    model.partial_fit(frame)
    save(model, tmp_path / "model.skvae")
    assert load(tmp_path / "model.skvae").categorical_features == ["band", "kind"]


def test_a_float32_array_with_categorical_columns_is_coded_in_float32_and_complex_labels_refused():
    X = low_rank(30).astype(np.float32)
    X[:, 0] = np.arange(30) % 3
    model = make(AutoencoderTransformer, max_iter=1, categorical_features=[0]).fit(X)
    assert model.transform(X).dtype == np.float32  # as the preserves_dtype tag says
    with pytest.raises(ValueError, match="Complex data not supported"):
        make(AutoencoderTransformer, max_iter=1, categorical_features=[0]).fit(X + 1j)


@pytest.mark.parametrize(
    "params, sparse",
    [
        ({}, True),
        ({"categorical_features": []}, True),
        ({"standardize": True}, False),
        ({"categorical_features": [0]}, False),
    ],
)
def test_the_sparse_tag_says_whether_sparse_X_is_taken(params, sparse):
    from sklearn.utils import get_tags

    assert get_tags(AutoencoderTransformer(**params)).input_tags.sparse is sparse


def test_categorical_features_naming_an_unknown_column_is_an_error():
    with pytest.raises(ValueError, match="names columns"):
        TableEncoder(["nope"]).fit_encode(AutoencoderTransformer(), mixed_frame())


def test_polars_frames_with_categorical_columns():
    polars = pytest.importorskip("polars")
    frame = mixed_frame()
    model = make(VAETransformer).fit(polars.from_pandas(frame))
    np.testing.assert_allclose(
        model.transform(polars.from_pandas(frame)), model.transform(frame), rtol=1e-6, atol=1e-6
    )


def test_polars_output_keeps_labels_mixing_numbers_and_text_as_objects_and_an_ordered_category_as_an_enum():
    polars = pytest.importorskip("polars")
    frame = mixed_frame().assign(
        size=lambda f: pd.Series([1, 2, "3+"] * (len(f) // 3) + [1] * (len(f) % 3), dtype=object),
        level=lambda f: pd.Categorical(f["band"].astype(str), categories=["low", "high"], ordered=True),
    )
    rows = make(VAETransformer).fit(frame).set_output(transform="polars").sample(5, random_state=0)
    assert rows.schema["size"] == polars.Object and set(rows["size"].to_list()) <= {1, 2, "3+"}
    assert rows.schema["level"] == polars.Enum(["low", "high"])


def test_polars_output_of_sample_keeps_the_categories():
    polars = pytest.importorskip("polars")
    rows = make(VAETransformer).fit(mixed_frame()).set_output(transform="polars").sample(5, random_state=0)
    assert rows.columns == ["income", "score", "band"] and rows.schema["band"] == polars.Categorical


def test_arrow_string_and_dictionary_columns_are_categorical():
    pa = pytest.importorskip("pyarrow")
    frame = mixed_frame()
    frame["band"] = frame["band"].astype(str).astype(pd.ArrowDtype(pa.string()))
    frame["kind"] = pd.array(
        ["a", "b", "c"] * 100, dtype=pd.ArrowDtype(pa.dictionary(pa.int32(), pa.string()))
    )
    table = TableEncoder()
    assert table.fit_encode(AutoencoderTransformer(), frame).shape[1] == 2 + 2 + 3
    assert table.categories == [["high", "low"], ["a", "b", "c"]]


def test_pandas_output_gives_string_columns_their_dtype_back_and_a_dictionary_as_categories():
    pa = pytest.importorskip("pyarrow")
    frame = mixed_frame()
    frame["band"] = frame["band"].astype("string")  # pandas' NA-valued strings
    frame.loc[3, "band"] = pd.NA
    frame["kind"] = pd.array(
        ["a", "b", "c"] * 100, dtype=pd.ArrowDtype(pa.dictionary(pa.int32(), pa.string()))
    )
    frame["tag"] = pd.array(["x", "y"] * 150, dtype=pd.ArrowDtype(pa.large_string()))
    imputer = VAEImputer(max_iter=2, n_importance_samples=8, random_state=0).set_output(transform="pandas")
    vae = make(VAETransformer, max_iter=2).fit(frame)
    for table in (imputer.fit_transform(frame), vae.inverse_transform(vae.transform(frame))):
        assert table["band"].dtype == frame["band"].dtype
        assert table["tag"].dtype == frame["tag"].dtype
        assert isinstance(table["kind"].dtype, pd.CategoricalDtype)
        assert list(table["kind"].cat.categories) == ["a", "b", "c"]
        assert table["band"].notna().all()


def test_nullable_numeric_columns_beside_categories_read_pandas_na_as_missing():
    frame = mixed_frame()
    frame["count"] = pd.array([1, None, 3] * 100, dtype="Int64")
    frame["flag"] = pd.array([True, False, None] * 100, dtype="boolean")
    coded = TableEncoder().fit_encode(AutoencoderTransformer(), frame)
    assert np.isnan(coded[1, 4]) and np.isnan(coded[2, 5])
    assert np.isfinite(coded[0]).all()


def test_categorical_features_name_columns_of_a_list_of_rows():
    rows = [[0, 1.5], [1, 2.5], [2, 3.5]] * 5
    table = TableEncoder([0])
    assert table.fit_encode(AutoencoderTransformer(), rows).shape[1] == 3 + 1
    assert table.categories == [[0, 1, 2]]


def test_unstandardized_columns_reach_the_networks_as_they_are_beside_categories():
    frame = mixed_frame()
    table = TableEncoder(standardize=False)
    coded = table.fit_encode(AutoencoderTransformer(), frame)
    np.testing.assert_allclose(coded[:, :2], frame[["income", "score"]].to_numpy())
    np.testing.assert_allclose(table.uncode(coded)[:, :2], frame[["income", "score"]].to_numpy())


def test_categories_of_any_label_type_survive_pickling():
    frame = mixed_frame()
    frame["range"] = pd.cut(frame["score"], 3)
    frame["day"] = pd.Categorical(pd.to_datetime(["2020-01-01", "2021-06-30", "2022-12-31"] * 100))
    model = make(AutoencoderTransformer).fit(frame)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.transform(frame), model.transform(frame))
    assert again.inverse_transform(again.transform(frame[:3]))["day"].dtype == frame["day"].dtype


# -- missing cells in every estimator ---------------------------------------------------


@pytest.mark.parametrize("estimator_class", ESTIMATORS)
def test_a_missing_cell_adds_nothing_to_the_loss_and_no_nan_to_the_gradients(estimator_class):
    X = hide(low_rank())
    model = make(estimator_class).fit(X)
    assert np.isfinite(model.loss_curve_).all()
    batch = torch.as_tensor(X[:50], dtype=torch.float32)
    loss = model._loss(batch, torch.Generator().manual_seed(0), True)
    loss.backward()
    for parameter in model._networks().parameters():
        assert parameter.grad is None or torch.isfinite(parameter.grad).all()
    # Whatever the decoder says about a missing cell, the row's terms stay the same.
    x, observed = model._prepare(batch)
    with torch.no_grad():
        decoded = model.decoder_(model._encode(batch))
        moved = torch.where(torch.isnan(batch), decoded + 100.0, decoded)
        terms = model._log_px_by_column if hasattr(model, "likelihood_") else model._column_errors
        torch.testing.assert_close(terms(x, moved, observed), terms(x, decoded, observed))
        assert not torch.equal(terms(x, decoded + 100.0, observed), terms(x, decoded, observed))


@pytest.mark.parametrize("estimator_class", ESTIMATORS)
def test_incomplete_rows_are_encoded_and_scored_from_their_observed_cells(estimator_class):
    X = low_rank()
    model = make(estimator_class).fit(hide(X))
    incomplete = hide(X[:50], rate=0.3, seed=5)
    codes = model.transform(incomplete)
    scores = model.score_samples(incomplete)
    assert codes.shape == (50, 2) and np.isfinite(codes).all()
    assert scores.shape == (50,) and np.isfinite(scores).all()
    # A row is encoded from its own cells only: the other rows do not matter.
    np.testing.assert_allclose(model.transform(incomplete[:5]), codes[:5], rtol=1e-5, atol=1e-6)


def test_vae_marginalises_a_missing_feature_exactly():
    """With a factorised decoder, log p(x_obs) leaves the missing features' terms out."""
    X = low_rank()
    model = make(VAETransformer).fit(X)
    row = X[:1].copy()
    row[0, 2] = np.nan
    noise = model._fixed_noise(model.n_importance_samples, "cpu")
    with torch.inference_mode():
        x = torch.as_tensor(row, dtype=torch.float32)
        filled, observed = model._prepare(x)
        mean, log_var = model.encoder_(filled)
        z = mean + torch.exp(0.5 * log_var) * noise[:, None, :]
        decoded = model.decoder_(z)
        per_feature = model.likelihood_.log_prob_per_feature(filled, decoded)
        log_px = per_feature[..., [0, 1, 3, 4, 5]].sum(dim=-1)
        log_pz = -0.5 * (z.square() + math.log(2 * math.pi)).sum(dim=-1)
        log_qz = -0.5 * (noise[:, None, :].square() + math.log(2 * math.pi) + log_var).sum(dim=-1)
        expected = torch.logsumexp(log_px + log_pz - log_qz, dim=0) - math.log(model.n_importance_samples)
    np.testing.assert_allclose(model.score_samples(row), expected.numpy(), rtol=1e-5)


def test_vae_detector_counts_each_missing_cell_at_its_columns_typical_log_likelihood():
    X = low_rank(600)
    detector = make(VAEOutlierDetector).fit(X[:400])
    rows = X[400:].copy()
    rows[:, 2] = np.nan

    def observed_cells_log_likelihood(rows):  # VAETransformer's score
        with torch.inference_mode():
            x = torch.as_tensor(rows, dtype=torch.float32)
            return super(VAEOutlierDetector, detector)._score_rows(x).numpy()

    expected = observed_cells_log_likelihood(rows) + detector.column_log_likelihood_[2]
    np.testing.assert_allclose(detector.score_samples(rows), expected, rtol=1e-5)
    complete = X[400:]  # scored by the log-likelihood itself
    expected = observed_cells_log_likelihood(complete)
    np.testing.assert_allclose(detector.score_samples(complete), expected, rtol=1e-6)


@pytest.mark.parametrize("estimator_class", [AutoencoderOutlierDetector, VAEOutlierDetector])
def test_detector_scores_stay_comparable_across_missing_counts(estimator_class):
    """Hiding cells of a normal row does not make it look abnormal, or more normal (as log p(x_obs) would)."""
    X = low_rank(600)
    detector = make(estimator_class).fit(X[:400])
    complete = detector.score_samples(X[400:])
    incomplete = detector.score_samples(hide(X[400:], rate=0.4, seed=3))
    assert abs(np.median(incomplete) - np.median(complete)) < 0.5 * np.std(complete)


@pytest.mark.parametrize("estimator_class", [AutoencoderOutlierDetector, VAEOutlierDetector])
def test_a_missing_cell_contributes_zero(estimator_class):
    X = low_rank()
    detector = make(estimator_class).fit(X)
    rows = X[:5].copy()
    rows[:, 1] = np.nan
    contributions = detector.feature_contributions(rows)
    assert (contributions[:, 1] == 0).all()
    assert np.isfinite(contributions).all() and (contributions[:, [0, 2]] != 0).all()


@pytest.mark.parametrize("estimator_class", [AutoencoderOutlierDetector, VAEOutlierDetector])
def test_a_missing_cell_contributes_zero_in_its_own_column_where_a_category_comes_first(estimator_class):
    frame = mixed_frame()[["band", "income", "score"]]
    detector = make(estimator_class).fit(frame)
    rows = frame.iloc[:5].copy()
    rows["income"] = np.nan
    for method in ("robust", "reconstruction"):
        contributions = detector.feature_contributions(rows, method=method)
        assert (contributions["income"] == 0).all(), method
        assert (contributions[["band", "score"]] != 0).all().all(), method


def test_the_autoencoders_score_of_an_incomplete_row_scales_its_terms_up_to_every_column():
    X = low_rank()
    detector = make(AutoencoderOutlierDetector).fit(X)
    rows = X[:4].copy()
    rows[1, [0, 3]] = np.nan
    rows[2, 5] = np.nan
    terms = detector.feature_contributions(rows, method="reconstruction").sum(axis=1)
    n_observed = (~np.isnan(rows)).sum(axis=1)
    np.testing.assert_allclose(detector.score_samples(rows), terms * 6 / n_observed, rtol=1e-5)


def test_rows_with_nothing_observed_are_encoded_but_not_scored():
    X = low_rank()
    model = make(VAEOutlierDetector).fit(X)
    empty = np.full((2, 6), np.nan)
    assert np.isfinite(model.transform(empty)).all()
    with pytest.raises(ValueError, match="row\\(s\\) with no observed value"):
        model.score_samples(empty)
    with pytest.raises(ValueError, match="row\\(s\\) with no observed value"):
        model.predict(empty)


def test_early_stopping_with_missing_cells():
    model = make(VAETransformer, early_stopping=True).fit(hide(low_rank()))
    assert np.isfinite(model.validation_scores_).all()


# -- categorical columns in every estimator -------------------------------------------------


@pytest.mark.parametrize("estimator_class", ESTIMATORS)
def test_a_table_with_categories_goes_straight_in(estimator_class):
    frame = mixed_frame()
    frame.loc[::9, "score"] = np.nan
    frame.loc[::7, "band"] = np.nan
    model = make(estimator_class, max_iter=60).fit(frame)
    scores = model.score_samples(frame)
    assert np.isfinite(scores).all()
    back = model.inverse_transform(model.transform(frame))
    assert list(back.columns) == ["income", "score", "band"]
    assert back.index.equals(pd.RangeIndex(len(frame)))  # codes as an array carry no index
    assert back["band"].dtype == frame["band"].dtype
    # The category is learned from the numbers that decide it.
    complete = frame.dropna()
    assert (back.loc[complete.index, "band"] == complete["band"]).mean() > 0.85
    if hasattr(model, "feature_contributions"):
        assert model.feature_contributions(frame).shape == (300, 3)


@pytest.mark.parametrize("estimator_class", ESTIMATORS)
def test_a_table_of_categories_only(estimator_class):
    colour = np.random.RandomState(0).choice(["red", "blue"], size=300)
    frame = pd.DataFrame({"band": mixed_frame()["band"], "colour": pd.Categorical(colour)})
    model = make(estimator_class, max_iter=5).fit(frame)
    assert np.isfinite(model.score_samples(frame)).all()


def test_standardisation_makes_scales_irrelevant():
    frame = mixed_frame()
    scaled = frame.assign(income=frame["income"] * 1e6)
    codes = make(AutoencoderTransformer).fit_transform(frame)
    np.testing.assert_allclose(
        make(AutoencoderTransformer).fit_transform(scaled), codes, rtol=1e-4, atol=1e-4
    )


def test_vae_scores_are_densities_of_the_users_units():
    """Scaling a numeric column by c shifts log p(x) by -log c, as a density must."""
    frame = mixed_frame()
    model = make(VAETransformer).fit(frame)
    scaled = make(VAETransformer).fit(frame.assign(income=frame["income"] * 10))
    shift = scaled.score_samples(frame.assign(income=frame["income"] * 10)) - model.score_samples(frame)
    np.testing.assert_allclose(shift, -math.log(10), atol=1e-3)


def test_sample_gives_categories():
    model = make(VAETransformer).fit(mixed_frame())
    rows = model.sample(20, random_state=0)
    assert set(rows[:, 2]) <= {"high", "low"}
    frame = model.set_output(transform="pandas").sample(5, random_state=0)
    assert frame["band"].dtype == mixed_frame()["band"].dtype


def test_bernoulli_refuses_standardisation():
    with pytest.raises(ValueError, match="cannot be standardized"):
        VAETransformer(likelihood="bernoulli", standardize=True).fit(np.random.RandomState(0).rand(20, 3))


def test_bernoulli_needs_the_numeric_columns_in_0_1_whatever_the_column_order():
    rng = np.random.RandomState(0)
    frame = pd.DataFrame(
        {"c": pd.Categorical(rng.choice(["x", "y", "z"], 50)), "v": rng.uniform(10, 100, 50)}
    )
    for columns in (["c", "v"], ["v", "c"]):
        with pytest.raises(ValueError, match=r"needs X in \[0, 1\]"):
            VAETransformer(likelihood="bernoulli", max_iter=1).fit(frame[columns])


@pytest.mark.parametrize("estimator_class", ESTIMATORS)
def test_a_new_rows_column_with_no_observed_cell_is_missing_whatever_dtype_pandas_gave_it(estimator_class):
    frame = mixed_frame()
    model = make(estimator_class, max_iter=2).fit(frame)
    for new in (
        pd.DataFrame([{"income": None, "score": 0.5, "band": "high"}]),  # an object column of None
        pd.DataFrame({"income": [1e4], "score": [0.5], "band": [np.nan]}),  # a float column of NaN
    ):
        expected = new.astype(frame.dtypes.to_dict())
        np.testing.assert_array_equal(model.transform(new), model.transform(expected))
    with pytest.raises(ValueError, match="was numeric .* and is str now"):
        model.transform(pd.DataFrame({"income": ["a"], "score": [0.5], "band": ["high"]}))


@pytest.mark.parametrize("estimator_class", ESTIMATORS)
def test_pandas_na_among_numbers_held_as_objects_is_a_missing_cell_as_none_is(estimator_class):
    frame = mixed_frame()[["income", "score"]]
    model = make(estimator_class, max_iter=2).fit(frame)
    expected = model.transform(pd.DataFrame({"income": [np.nan], "score": [0.5]}))
    for na in (pd.NA, None):
        frame = pd.DataFrame({"income": pd.Series([na], dtype=object), "score": [0.5]})
        np.testing.assert_array_equal(model.transform(frame), expected)
        rows = np.array([[na, 0.5]], dtype=object)
        np.testing.assert_array_equal(model.transform(rows), expected)
        assert rows[0, 0] is na  # the user's rows are left as they were
        np.testing.assert_array_equal(model.transform([[na, 0.5]]), expected)  # a list of rows


@pytest.mark.parametrize("estimator_class", ESTIMATORS)
def test_pandas_na_among_numbers_held_as_objects_beside_a_category_is_a_missing_cell(estimator_class):
    frame = mixed_frame()
    model = make(estimator_class, max_iter=2).fit(frame)
    new = frame.iloc[:3].astype({"score": object})
    new.iloc[0, new.columns.get_loc("score")] = pd.NA
    expected = frame.iloc[:3].copy()
    expected.iloc[0, expected.columns.get_loc("score")] = np.nan
    np.testing.assert_array_equal(model.transform(new), model.transform(expected))
    rows = new.to_numpy(dtype=object)  # the same as an object array, its categories named
    array_model = make(estimator_class, max_iter=2, categorical_features=[2])
    assert np.isfinite(array_model.fit(frame.to_numpy(dtype=object)).transform(rows)).all()


@pytest.mark.parametrize(
    "values, named",
    [
        ([(1, 2), (3, 4)], r"tuples \(\(1, 2\)\)"),
        ([[1, 2], [3, 4]], r"lists \(\[1, 2\]\)"),
        ([{"a": 1}, {}], r"dicts"),
        ([(1, [2]), (3, [4])], r"tuples \(\(1, \[2\]\)\)"),  # a tuple pandas cannot hash
    ],
)
def test_a_column_of_nested_values_is_refused_as_categories_with_what_to_do(values, named):
    band = pd.Series([None] * 300, dtype=object)
    band[:] = values * 150  # set cell by cell: pandas would read the lists as rows
    frame = mixed_frame().assign(band=band)
    with pytest.raises(TypeError, match=rf"holds {named}.*\.astype\(str\)"):
        make(AutoencoderTransformer, max_iter=1).fit(frame)


def test_an_unseen_category_warns_once_at_the_callers_line_in_every_method():

    frame = mixed_frame()
    new = frame.iloc[:8].assign(band=["mid", "top"] * 4)
    vae = make(VAETransformer, max_iter=1).fit(frame)
    imputer = VAEImputer(max_iter=1, n_importance_samples=4, random_state=0).set_output(transform="pandas")
    imputer.fit(frame)
    calls = [
        lambda: vae.transform(new),
        lambda: vae.transform(new, return_std=True),
        lambda: vae.score_samples(new),
        lambda: imputer.transform(new),  # through scikit-learn's set_output wrapper
    ]
    for call in calls:
        with pytest.warns(UserWarning, match=r"not seen in fit \(mid, top\): the networks") as caught:
            call()
        assert len(caught) == 1 and caught[0].filename == __file__


@pytest.mark.parametrize("estimator_class", ESTIMATORS)
def test_a_float32_table_with_categories_keeps_float32_as_a_float32_array_does(estimator_class):
    frame = mixed_frame().astype({"income": np.float32, "score": np.float32})
    model = make(estimator_class, max_iter=1).fit(frame)
    assert model.transform(frame).dtype == np.float32
    assert model.score_samples(frame).dtype == np.float32


def test_an_object_column_keeps_the_kind_fit_gave_it_whatever_rows_come_later():
    frame = pd.DataFrame(
        {"score": low_rank(100)[:, 0], "kids": pd.Series([1, 2, 3, "4+"] * 25, dtype=object)}
    )
    model = make(AutoencoderTransformer, max_iter=1).fit(frame)
    assert model._table.categorical == [1]  # a label among the numbers: categorical
    numbers_only = frame[frame["kids"] != "4+"]
    np.testing.assert_array_equal(
        model.transform(numbers_only), model.transform(frame)[frame["kids"] != "4+"]
    )


def test_numbers_pandas_has_no_name_for_are_numbers_and_mixed_labels_stay_categories():
    from fractions import Fraction

    score = low_rank(30)[:, 0]
    fractions = pd.Series([Fraction(i, 3) for i in range(30)], dtype=object)
    fractions[4] = None
    model = make(AutoencoderTransformer, max_iter=1).fit(pd.DataFrame({"f": fractions, "score": score}))
    as_floats = make(AutoencoderTransformer, max_iter=1).fit(
        pd.DataFrame({"f": fractions.astype(float), "score": score})
    )
    assert model._table.categorical == []
    np.testing.assert_array_equal(
        model.transform(pd.DataFrame({"f": fractions, "score": score})),
        as_floats.transform(pd.DataFrame({"f": fractions.astype(float), "score": score})),
    )
    labels = pd.Series([Fraction(1, 3), "high", True] * 10, dtype=object)
    assert make(AutoencoderTransformer, max_iter=1).fit(
        pd.DataFrame({"l": labels, "score": score})
    )._table.categorical == [0]


def test_a_few_numbers_with_a_rare_label_stay_categorical_many_numbers_with_one_are_refused():
    levels = pd.Series([1, 2, 3] * 30 + ["4+"] * 5, dtype=object)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = make(AutoencoderTransformer, max_iter=1).fit(
            pd.DataFrame({"kids": levels, "x": np.arange(95.0)})
        )
    assert model._table.categorical == [0]
    assert not [w for w in caught if "Column 'kids'" in str(w.message)]
    readings = pd.Series(list(low_rank(95)[:, 0]) + ["n/a"], dtype=object)
    with pytest.raises(TypeError, match=r"Column 'r' of X mixes numbers and strings \('n/a'\)"):
        make(AutoencoderTransformer).fit(pd.DataFrame({"r": readings, "x": np.arange(96.0)}))


def test_a_column_named_categorical_is_coded_as_labels_whatever_its_dtype_after_fit():
    frame = mixed_frame(40).assign(band=lambda f: f["band"].astype(str))
    model = make(AutoencoderTransformer, max_iter=1, categorical_features=np.array(["band"])).fit(frame)
    numbers = frame.assign(band=np.ones(40))  # a numeric dtype now: labels no category holds
    with pytest.warns(UserWarning, match="has categories not seen in fit"):
        assert np.isfinite(model.transform(numbers)).all()


def test_dates_and_durations_are_refused_unless_named_categorical():
    frame = mixed_frame(20).assign(
        when=pd.date_range("2020", periods=20), took=pd.timedelta_range(0, periods=20)
    )
    for X in (frame, frame[["score", "when"]], frame[["when"]].to_numpy()):
        with pytest.raises(ValueError, match="hold dates, times or durations"):
            make(AutoencoderTransformer).fit(X)
    model = make(AutoencoderTransformer, max_iter=1).fit(
        frame[["score", "income"]].set_axis(["a", "b"], axis=1)
    )
    with pytest.raises(ValueError, match=r"Column\(s\) \['b'\] of X hold dates"):
        model.transform(frame[["score", "when"]].set_axis(["a", "b"], axis=1))
    named = make(AutoencoderTransformer, max_iter=1, categorical_features=["band", "when", "took"]).fit(frame)
    assert named.transform(frame).shape == (20, 2)


def test_times_of_day_from_parquet_are_refused_as_times():
    pa = pytest.importorskip("pyarrow")
    times = pd.Series(
        pd.date_range("2020", periods=20, freq="min").time, dtype=pd.ArrowDtype(pa.time64("us"))
    )
    with pytest.raises(ValueError, match=r"\['when'\] of X hold dates, times or durations \(time64"):
        make(AutoencoderTransformer).fit(mixed_frame(20).assign(when=times))


def test_values_neither_numbers_nor_text_in_a_table_are_refused_naming_their_column():
    intervals = pd.Series(pd.arrays.IntervalArray.from_breaks(np.arange(21.0)))
    for X in (mixed_frame(20).assign(span=intervals), mixed_frame(20)[["score"]].assign(span=intervals)):
        with pytest.raises(
            TypeError, match=r"X column 'span' holds values that are neither numbers nor text"
        ):
            make(AutoencoderTransformer).fit(X)
    named = make(AutoencoderTransformer, max_iter=1, categorical_features=["band", "span"])
    assert named.fit(mixed_frame(20).assign(span=intervals)).transform(
        mixed_frame(20).assign(span=intervals)
    ).shape == (20, 2)


def test_a_polars_struct_column_is_refused_as_nested():
    polars = pytest.importorskip("polars")
    frame = polars.from_pandas(mixed_frame(20)).with_columns(
        pair=polars.struct(polars.col("score"), polars.col("income"))
    )
    with pytest.raises(TypeError, match=r"X column 'pair' holds nested values \(Struct"):
        make(AutoencoderTransformer).fit(frame)
    numbers = polars.from_pandas(mixed_frame(20)[["score", "income"]])
    for nested in (
        polars.struct(polars.col("score"), polars.col("income")),
        polars.concat_list("score", "income"),
    ):
        for categorical_features in ("from_dtype", ["pair"]):  # no category either
            with pytest.raises(TypeError, match=r"X column 'pair' holds nested values .*a column of its own"):
                make(AutoencoderTransformer, categorical_features=categorical_features).fit(
                    numbers.with_columns(pair=nested)
                )


def test_dates_held_as_python_objects_are_refused_as_dates():
    frame = mixed_frame(20)[["score", "income"]]
    days = pd.Series(pd.date_range("2020", periods=20).date, dtype=object)  # what .dt.date gives
    for column, kind in [(days, "date"), (days.map(pd.Timestamp), "datetime"), (days - days[0], "timedelta")]:
        X = frame.assign(when=column.astype(object))
        with pytest.raises(ValueError, match=rf"\['when'\] of X hold dates.*\(object holding {kind} "):
            make(AutoencoderTransformer).fit(X)
        with pytest.raises(ValueError, match="hold dates, times or durations"):
            make(AutoencoderTransformer).fit(X.to_numpy(dtype=object))
    named = make(AutoencoderTransformer, max_iter=1, categorical_features=["when"])
    named.fit(frame.assign(when=days))
    assert named._table.categorical == [2]


def test_a_text_column_of_numbers_only_warns_that_each_number_is_a_category():
    readings = pd.Series(low_rank(40)[:, 0].round(3)).astype(str)
    with pytest.warns(UserWarning, match="Column 'r' of X holds text, .* every cell reads as a number: each"):
        make(AutoencoderTransformer, max_iter=1).fit(pd.DataFrame({"r": readings, "x": np.arange(40.0)}))
    # A few labels that happen to be digits are categories, without a word.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        grades = pd.Series(["1", "2", "3"] * 10)
        make(AutoencoderTransformer, max_iter=1).fit(pd.DataFrame({"g": grades, "x": np.arange(30.0)}))
    assert not [w for w in caught if "Column 'g'" in str(w.message)]


def test_a_text_column_of_mostly_distinct_values_warns_that_it_looks_like_identifiers():
    rng = np.random.RandomState(0)
    frame = pd.DataFrame({"id": [f"user{i}" for i in range(120)], "x": rng.normal(size=120)})
    with pytest.warns(UserWarning, match="Column 'id' of X holds text, .* 120 distinct values among 120"):
        make(AutoencoderTransformer, max_iter=1).fit(frame)
    # Named as categorical, it is the user's choice; 60 labels over 300 rows are categories.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make(AutoencoderTransformer, max_iter=1, categorical_features=["id"]).fit(frame)
        cities = pd.Series([f"city{i % 60}" for i in range(300)])
        make(AutoencoderTransformer, max_iter=1).fit(pd.DataFrame({"c": cities, "x": rng.normal(size=300)}))
    assert not [w for w in caught if "distinct values" in str(w.message)]


def test_an_empty_list_of_categorical_features_names_no_column():
    X = low_rank(30)
    for none in ([], (), np.array([], dtype=int)):
        assert (
            make(AutoencoderTransformer, max_iter=1, categorical_features=none).fit(X)._table.categorical
            == []
        )


def test_save_and_load_a_model_of_a_table(tmp_path):
    frame = mixed_frame()
    model = make(VAEOutlierDetector).fit(frame)
    save(model, tmp_path / "model.skvae")
    loaded = load(tmp_path / "model.skvae")
    np.testing.assert_array_equal(loaded.score_samples(frame), model.score_samples(frame))
    pd.testing.assert_frame_equal(
        loaded.inverse_transform(loaded.transform(frame)), model.inverse_transform(model.transform(frame))
    )


@pytest.mark.parametrize("estimator_class", [AutoencoderOutlierDetector, VAEOutlierDetector])
def test_a_reloaded_model_of_a_table_explains_rows(estimator_class):
    """The column layout a reloaded model first builds under inference mode still serves autograd."""
    frame = mixed_frame()
    model = make(estimator_class).fit(frame)
    reloaded = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(
        reloaded.feature_contributions(frame[:5]),
        model.feature_contributions(frame[:5]),
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.parametrize("estimator_class", ESTIMATORS)
def test_inverse_transform_keeps_the_index_of_codes_given_as_a_dataframe(estimator_class):
    frame = mixed_frame(60).set_axis([f"r{i}" for i in range(60)])
    model = make(estimator_class, max_iter=2).set_output(transform="pandas").fit(frame)
    back = model.inverse_transform(model.transform(frame))
    assert back.index.equals(frame.index)
    assert (frame["score"] - back["score"]).notna().all()  # aligned, row by row


def test_ordered_categories_come_back_ordered():
    frame = mixed_frame(60)
    frame["band"] = frame["band"].cat.as_ordered()
    model = make(VAETransformer, max_iter=2).fit(frame)
    back = model.inverse_transform(model.transform(frame))
    assert back["band"].dtype == frame["band"].dtype and back["band"].cat.ordered
