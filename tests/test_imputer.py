"""VAEImputer: scikit-learn's imputer API, and imputations that use what the other cells say."""

import math
import pickle
import warnings
from functools import partial

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skvae
import skvae._conditional
import skvae._fitting
import skvae._imputer
from skvae import VAEImputer
from skvae._cell_validation import hold_out_cells
from skvae._conditional import SCORE_SEED
from skvae._likelihood_calibration import squared_residuals


@pytest.fixture(autouse=True)
def quiet():
    # Few epochs on purpose: their ConvergenceWarning says so. Any other warning is news.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        yield


def low_rank(n_rows=400, seed=0):
    rng = np.random.RandomState(seed)
    z = rng.normal(size=(n_rows, 2))
    return z @ rng.normal(size=(2, 6)) + 0.05 * rng.normal(size=(n_rows, 6))


def hide(X, rate=0.2, seed=1):
    X = X.copy()
    X[np.random.RandomState(seed).rand(*X.shape) < rate] = np.nan
    return X


def make(**params):
    params.setdefault("n_importance_samples", 50)
    return VAEImputer(random_state=0, **params)


def test_observed_cells_pass_through_and_missing_ones_are_filled():
    X = hide(low_rank())
    filled = make().fit_transform(X)
    observed = ~np.isnan(X)
    np.testing.assert_array_equal(filled[observed], X[observed])
    assert np.isfinite(filled).all()


def test_imputations_beat_column_means_on_correlated_columns():
    X = low_rank()
    hidden = hide(X, rate=0.3)
    missing = np.isnan(hidden)
    vae_error = np.mean((make().fit_transform(hidden) - X)[missing] ** 2)
    mean_error = np.mean((SimpleImputer().fit_transform(hidden) - X)[missing] ** 2)
    assert vae_error < 0.3 * mean_error


def test_new_rows_are_imputed_by_the_fitted_model():
    X = low_rank(600)
    imputer = make().fit(hide(X[:400]))
    test = hide(X[400:], seed=7)
    filled = imputer.transform(test)
    assert np.isfinite(filled).all()
    np.testing.assert_array_equal(imputer.transform(test), filled)  # deterministic by default


def count_rows_imputed(monkeypatch):
    """The rows each call of the networks' imputation gets, in a list that grows as they come."""
    counts, impute = [], skvae._conditional._impute_incomplete_rows
    monkeypatch.setattr(
        skvae._conditional,
        "_impute_incomplete_rows",
        lambda vae, X, generator: counts.append(len(X)) or impute(vae, X, generator),
    )
    return counts


def test_complete_rows_skip_the_networks_and_leave_the_others_imputations_alone(monkeypatch):
    X = low_rank(600)
    imputer = make().fit(hide(X[:400]))
    incomplete = hide(X[400:450], rate=0.3, seed=7)
    incomplete = incomplete[np.isnan(incomplete).any(axis=1)]
    alone = imputer.transform(incomplete)
    counts = count_rows_imputed(monkeypatch)
    mixed = np.vstack([X[450:550], incomplete, X[550:]])  # 150 complete rows around them
    filled = imputer.transform(mixed)
    assert counts == [64]  # the 45 incomplete rows, padded to a block of 64: not the 195 rows
    np.testing.assert_array_equal(filled[100 : 100 + len(incomplete)], alone)
    np.testing.assert_array_equal(np.delete(filled, np.s_[100 : 100 + len(incomplete)], axis=0), X[450:])
    imputer.transform(X[450:])  # every row complete: nothing to impute
    assert counts == [64]


def test_a_rows_imputation_does_not_depend_on_the_rows_imputed_with_it():
    X = hide(low_rank())
    imputer = make(n_importance_samples=300).fit(X)
    together = imputer.transform(X)
    in_chunks = np.vstack([imputer.transform(X[start : start + 100]) for start in range(0, 400, 100)])
    np.testing.assert_array_equal(in_chunks, together)
    np.testing.assert_array_equal(imputer.transform(X[::-1]), together[::-1])
    np.testing.assert_array_equal(
        np.vstack([imputer.transform(X[i : i + 1]) for i in range(0, 400, 9)]), together[::9]
    )


def test_a_column_never_observed_in_fit_makes_no_row_incomplete(monkeypatch):
    X = hide(low_rank())
    X[:, 2] = np.nan
    imputer = make(keep_empty_features=True).fit(X)
    new = low_rank(100, seed=1)
    new[:, 2] = np.nan
    new[:10, 0] = np.nan
    counts = count_rows_imputed(monkeypatch)
    out = imputer.transform(new)
    assert counts == [64]  # the 10 rows that lack another cell, padded
    assert (out[:, 2] == 0).all()
    np.testing.assert_array_equal(np.delete(out[10:], 2, axis=1), np.delete(new[10:], 2, axis=1))


def test_conditional_means_are_estimated_from_fixed_evenly_spread_draws():
    imputer = make(n_components=3).fit(hide(low_rank()))
    draws = imputer._fixed_noise(256, "cpu")
    np.testing.assert_array_equal(draws, imputer._fixed_noise(256, "cpu"))
    # Quasi-random: their mean is within 0.005 of zero, where random draws' would stray by about 0.06.
    assert draws.shape == (256, 3)
    assert float(draws.mean(dim=0).abs().max()) < 0.005


def test_a_row_with_nothing_observed_gets_a_typical_row():
    X = low_rank()
    imputer = make().fit(hide(X))
    filled = imputer.transform(np.full((1, 6), np.nan))
    assert np.isfinite(filled).all()
    assert np.all(np.abs(filled - X.mean(axis=0)) < 2 * X.std(axis=0))


def test_rows_with_nothing_observed_train_and_impute_but_are_not_scored():
    X = hide(low_rank())
    X[:3] = np.nan
    imputer = make(max_iter=5).fit(X)
    assert np.isfinite(imputer.transform(X[:3])).all()
    with pytest.raises(ValueError, match="no observed value"):
        imputer.score_samples(X[:3])


def test_sample_posterior_draws_anew_at_each_call_reproducibly():
    X = hide(low_rank())
    missing = np.isnan(X)
    imputer = make(sample_posterior=True).fit(X)
    first, second = imputer.transform(X), imputer.transform(X)
    assert not np.array_equal(first[missing], second[missing])
    np.testing.assert_array_equal(first[~missing], X[~missing])
    again = make(sample_posterior=True).fit(X)
    np.testing.assert_array_equal(again.transform(X), first)
    # Draws spread around the conditional mean.
    mean = make().fit(X).transform(X)
    assert np.std(first[missing] - mean[missing]) > 0.01


def test_sample_posterior_draws_afresh_in_every_chunk_of_a_large_table():
    imputer = make(sample_posterior=True, max_iter=5).fit(hide(low_rank()))
    row = hide(low_rank())[:1]
    row[0, :3] = low_rank()[0, :3]
    out = imputer.transform(np.repeat(row, 20_000, axis=0))  # several chunks of rows
    missing = np.isnan(row[0])
    assert len(np.unique(out[:, missing], axis=0)) > 19_000


def test_unstandardized_numbers_are_imputed_in_their_own_units():
    X = low_rank() + 10.0
    hidden = hide(X)
    missing = np.isnan(hidden)
    for standardize in (True, False):
        out = make(standardize=standardize, max_iter=50).fit_transform(hidden)
        assert np.abs(out - X)[missing].mean() < 1.0


def test_a_bernoulli_likelihood_reads_zeros_and_ones_unstandardized_by_default():
    X = (low_rank() > 0).astype(float)
    hidden = hide(X)
    out = make(likelihood="bernoulli", max_iter=20).fit_transform(hidden)
    assert np.all((out >= 0) & (out <= 1))
    with pytest.raises(ValueError, match="cannot be standardized"):
        make(likelihood="bernoulli", standardize=True).fit(hidden)


@pytest.mark.parametrize("add_indicator", [False, True])
def test_partial_fit_gives_an_imputer_whose_indicator_covers_every_call(add_indicator):
    X = hide(low_rank())
    X[:200, 0] = low_rank()[:200, 0]  # column 0 is missing in the second half only
    X[200:, 1] = low_rank()[200:, 1]  # column 1 in the first half only
    imputer = make(add_indicator=add_indicator, sample_posterior=True)
    imputer.partial_fit(X[:200]).partial_fit(X[200:])
    out = imputer.transform(X)
    assert np.isfinite(out).all()
    expected = [f"x{j}" for j in range(6)] + [f"missingindicator_x{j}" for j in range(6) if add_indicator]
    assert list(imputer.get_feature_names_out()) == expected and out.shape[1] == len(expected)


def test_a_category_unseen_in_the_first_call_is_no_missing_cell_to_the_indicator():
    rng = np.random.RandomState(0)
    first = pd.DataFrame({"num": rng.normal(size=60), "cat": pd.Categorical(rng.choice(["x", "y"], 60))})
    later = pd.DataFrame(
        {"num": rng.normal(size=60), "cat": pd.Categorical(rng.choice(["x", "y", "new"], 60))}
    )
    later.loc[::10, "num"] = np.nan
    imputer = make(add_indicator=True, max_iter=2).partial_fit(first)
    with pytest.warns(UserWarning, match="categories not seen in fit"):
        imputer.partial_fit(later)
    assert list(imputer.indicator_.features_) == [0]  # "num" went missing; "cat" never did


def test_partial_fit_indicates_every_column_missing_in_a_chunk_not_only_in_its_sample(monkeypatch):
    monkeypatch.setattr("skvae._stream_sample._MIN_SAMPLE_ROWS", 5)
    monkeypatch.setattr("skvae._stream_sample._MAX_SAMPLE_ROWS", 5)
    X = low_rank()
    X[::2, 0] = np.nan
    X[399, 3] = np.nan  # one missing cell, in a row the sample of 5 rarely holds
    imputer = make(add_indicator=True, max_iter=2).partial_fit(X)
    assert list(imputer.indicator_.features_) == [0, 3]


def test_a_refused_warm_start_leaves_the_fitted_imputer_as_it_was():
    X = hide(low_rank())
    imputer = make(add_indicator=True, warm_start=True, max_iter=2).fit(X)
    expected = imputer.transform(X)
    with pytest.raises(ValueError, match="features"):
        imputer.fit(X[:, :3])
    np.testing.assert_array_equal(imputer.transform(X), expected)


def test_a_column_constant_in_fit_is_imputed_as_its_value_in_means_and_draws(tmp_path):
    X = hide(low_rank())
    X[:, 2] = np.where(np.isnan(X[:, 2]), np.nan, 0.1)  # one value; its variance rounds to 2e-34
    for sample_posterior in (False, True):
        imputer = make(sample_posterior=sample_posterior, max_iter=5).fit(X)
        filled = imputer.transform(X)
        np.testing.assert_array_equal(filled[:, 2], 0.1)
        # A new row may hold another value there: it passes through, and the others stay sane.
        new = X[:5].copy()
        new[:, 2] = 0.2
        new[:, 0] = np.nan
        filled = imputer.transform(new)
        np.testing.assert_array_equal(filled[:, 2], 0.2)
        assert np.abs(filled).max() < 10
    skvae.save(imputer, tmp_path / "imputer.skvae")
    for copy in (pickle.loads(pickle.dumps(imputer)), skvae.load(tmp_path / "imputer.skvae")):
        np.testing.assert_array_equal(copy.transform(X)[:, 2], 0.1)


@pytest.mark.filterwarnings("ignore:Column\\(s\\) \\[2\\] had one value:UserWarning")
def test_a_partial_fit_call_that_varies_a_constant_column_ends_its_pinning_unless_the_call_fails(monkeypatch):
    X = hide(low_rank())
    first, later = X[:200].copy(), X[200:].copy()
    first[:, 2] = 0.1
    imputer = make(max_iter=2).partial_fit(first)
    same = later.copy()
    same[~np.isnan(same[:, 2]), 2] = 0.1
    imputer.partial_fit(same)
    assert imputer._table.constant == [2]  # the same value again

    def interrupt(X):
        raise KeyboardInterrupt

    monkeypatch.setattr(imputer, "_after_fit", interrupt)
    with pytest.raises(KeyboardInterrupt):
        imputer.partial_fit(later)  # column 2 varies there, but the call is undone
    assert imputer._table.constant == [2]
    monkeypatch.undo()
    imputer.partial_fit(later)
    assert imputer._table.constant == []
    hidden = hide(first, rate=0.5)
    assert np.ptp(imputer.transform(hidden)[np.isnan(hidden[:, 2]), 2]) > 0  # the networks' estimates


def test_categorical_cells_are_imputed_from_the_numbers_that_decide_them():
    rng = np.random.RandomState(0)
    z = rng.normal(size=500)
    frame = pd.DataFrame(
        {"a": z + 0.1 * rng.normal(size=500), "b": -z, "kind": pd.Categorical(np.where(z > 0, "up", "down"))}
    )
    truth = frame["kind"].copy()
    hidden = frame.copy()
    hidden.loc[::5, "kind"] = np.nan
    out = make(max_iter=100).set_output(transform="pandas").fit_transform(hidden)
    assert out["kind"].dtype == frame["kind"].dtype
    assert out.notna().all().all()
    assert (out.loc[::5, "kind"] == truth[::5]).mean() > 0.9
    default = make(max_iter=5).fit_transform(hidden)  # no pandas output: an object array
    assert default.dtype == object and set(default[:, 2]) <= {"up", "down"}


def test_missing_values_placeholder():
    X = low_rank()
    hidden = hide(X)
    marked = np.where(np.isnan(hidden), -999.0, hidden)
    np.testing.assert_array_equal(
        make(missing_values=-999.0).fit_transform(marked), make().fit_transform(hidden)
    )
    assert (marked == -999.0).any()  # the user's array is left as it was


@pytest.mark.parametrize("missing_values", [pd.NA, np.nan])
def test_pandas_na_marks_the_missing_cells_of_nullable_columns(missing_values):
    X = low_rank()[:, :3]
    hidden = hide(X)
    frame = pd.DataFrame({"a": pd.array(np.round(hidden[:, 0] * 100), dtype="Int64"), "b": hidden[:, 1]})
    frame["flag"] = pd.array(np.where(np.isnan(hidden[:, 2]), None, hidden[:, 2] > 0), dtype="boolean")
    frame["kind"] = pd.Categorical(np.where(X[:, 0] > 0, "up", "down"))
    out = make(missing_values=missing_values, max_iter=5).set_output(transform="pandas").fit_transform(frame)
    assert list(out.columns) == ["a", "b", "flag", "kind"]
    assert out.notna().all().all()
    np.testing.assert_array_equal(
        out["b"].to_numpy()[~np.isnan(hidden[:, 1])], hidden[~np.isnan(hidden[:, 1]), 1]
    )


def test_a_text_placeholder_in_a_text_array_is_missing_not_a_category():
    X = np.array([["a", "x"], ["?", "y"], ["b", "?"], ["a", "x"]] * 10)
    imputer = make(missing_values="?", categorical_features=[0, 1], max_iter=5).fit(X)
    assert imputer._table.categories == [["a", "b"], ["x", "y"]]
    out = imputer.transform(X)
    assert set(out[:, 0]) == {"a", "b"} and set(out[:, 1]) == {"x", "y"}
    assert (X == "?").sum() == 20  # the user's array is left as it was


def test_a_text_placeholder_for_numbers_is_refused_in_scikit_learns_words():
    with pytest.raises(ValueError, match="'X' and 'missing_values' types are expected to be both numerical"):
        make(missing_values="?").fit(low_rank())


@pytest.mark.parametrize("container", [np.asarray, pd.DataFrame])
def test_nan_beside_another_placeholder_is_refused_as_scikit_learns_imputers_do(container):
    X = low_rank()
    X[0, 0], X[1, 1] = -1.0, np.nan
    with pytest.raises(ValueError, match=r"Input X contains NaN, but missing_values=-1"):
        make(missing_values=-1).fit(container(X))
    fitted = make(missing_values=-1, max_iter=2).fit(np.nan_to_num(X))
    with pytest.raises(ValueError, match=r"Input X contains NaN, but missing_values=-1"):
        fitted.transform(container(X))


def test_rows_with_nothing_observed_are_imputed_but_not_scored():
    X = hide(low_rank())
    X[1] = np.nan
    imputer = make(max_iter=2).fit(X)
    assert np.isfinite(imputer.transform(X)[1]).all()
    with pytest.raises(ValueError, match="Drop them to score the others: transform imputes such rows"):
        imputer.score_samples(X)


def test_a_placeholder_in_a_polars_frame_keeps_its_names_and_categories():
    pl = pytest.importorskip("polars")
    X = low_rank()[:, :2]
    hidden = np.isnan(hide(X)[:, 0])
    frame = pl.DataFrame({"a": np.where(hidden, -1.0, X[:, 0]), "kind": ["x", "y"] * 200})
    imputer = make(missing_values=-1, max_iter=5).fit(frame)
    assert list(imputer.feature_names_in_) == ["a", "kind"] and imputer._table.categorical == [1]
    assert not (imputer.transform(frame)[:, 0] == -1).any()


def test_polars_categorical_and_enum_columns_come_back_as_categories():
    pl = pytest.importorskip("polars")
    kinds = pl.Series(["x", "y", None, "x"] * 25, dtype=pl.Categorical)
    levels = pl.Series(["low", "high", "low", None] * 25, dtype=pl.Enum(["low", "high"]))
    frame = pl.DataFrame({"a": hide(low_rank(100))[:, 0], "kind": kinds, "level": levels})
    imputer = make(max_iter=2).set_output(transform="pandas")
    out = imputer.fit_transform(frame)
    assert isinstance(out["kind"].dtype, pd.CategoricalDtype) and set(out["kind"]) == {"x", "y"}
    assert list(out["level"].cat.categories) == ["low", "high"]  # the Enum's order, not sorted
    assert out.notna().all().all()
    assert imputer.set_output(transform="polars").transform(frame).schema["kind"] == pl.Categorical


def test_add_indicator_appends_the_missing_mask():
    X = hide(low_rank())
    X[:, 3] = low_rank()[:, 3]  # a complete column has no indicator
    imputer = make(add_indicator=True).fit(X)
    out = imputer.transform(X)
    assert out.shape == (400, 6 + 5)
    np.testing.assert_array_equal(out[:, 6:], np.isnan(X[:, [0, 1, 2, 4, 5]]))
    names = imputer.get_feature_names_out()
    assert list(names[6:]) == [f"missingindicator_x{j}" for j in (0, 1, 2, 4, 5)]


@pytest.mark.parametrize("keep_empty_features", [False, True])
def test_empty_columns_are_dropped_or_kept_as_zeros(keep_empty_features):
    X = hide(low_rank())
    X[:, 2] = np.nan
    imputer = make(keep_empty_features=keep_empty_features).fit(X)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = imputer.transform(X)
    skipped = [w for w in caught if "Skipping features without any observed values: [2]" in str(w.message)]
    assert len(skipped) == (0 if keep_empty_features else 1)  # SimpleImputer's warning
    if keep_empty_features:
        assert out.shape == (400, 6) and (out[:, 2] == 0).all()
        assert list(imputer.get_feature_names_out()) == [f"x{j}" for j in range(6)]
        new = X[:3].copy()
        new[:, 2] = 3.0  # observed now: passes through, as SimpleImputer's does
        np.testing.assert_array_equal(imputer.transform(new)[:, 2], 3.0)
    else:
        assert out.shape == (400, 5)
        assert list(imputer.get_feature_names_out()) == ["x0", "x1", "x3", "x4", "x5"]
    assert np.isfinite(out).all()


def test_sample_gives_nan_in_a_column_never_observed():
    X = hide(low_rank())
    X[:, 2] = np.nan
    rows = make(max_iter=2).fit(X).sample(5, random_state=0)
    assert rows.shape == (5, 6) and np.isnan(rows[:, 2]).all()
    assert np.isfinite(np.delete(rows, 2, axis=1)).all()


def test_a_column_never_observed_leaves_the_shared_variance_alone():
    X = np.hstack([hide(low_rank(300)), np.full((300, 1), np.nan)])
    imputer = make(max_iter=20).fit(X)
    residuals, counts = imputer._column_means(
        partial(squared_residuals, imputer), imputer._validate_X(X, reset=False), return_counts=True
    )
    # The mean over the six observed columns' cells: the empty one has no residual, not one of 0.
    assert counts[6] == 0
    expected = (residuals[:6] * counts[:6]).sum() / counts[:6].sum()
    assert imputer.likelihood_.variance.item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.filterwarnings("ignore:Skipping features without any observed values:UserWarning")
def test_partial_fit_warns_that_a_column_the_first_call_never_observed_is_not_learnt():
    X = low_rank(200)
    first, later = X[:100].copy(), X[100:].copy()
    first[:, 2] = np.nan
    imputer = make(max_iter=1).partial_fit(first)
    with pytest.warns(UserWarning, match=r"Column\(s\) \[2\] had no observed value .* not learnt") as caught:
        imputer.partial_fit(later)
    assert caught[0].filename == __file__
    assert imputer.transform(later).shape == (100, 5)  # dropped, as in fit (keep_empty_features=False)


def test_in_a_pipeline_with_pandas_output():
    X = pd.DataFrame(hide(low_rank()), columns=list("abcdef"))
    pipeline = make_pipeline(make(), StandardScaler()).set_output(transform="pandas")
    out = pipeline.fit_transform(X)
    assert list(out.columns) == list("abcdef")
    assert out.notna().all().all()


def test_pandas_output_keeps_the_index_of_a_table_with_categories():
    from sklearn.compose import ColumnTransformer

    frame = pd.DataFrame(hide(low_rank())[:, :2], columns=["a", "b"], index=[f"r{i}" for i in range(400)])
    frame["kind"] = pd.Categorical(["x", "y"] * 200)
    out = make(max_iter=5).set_output(transform="pandas").fit_transform(frame)
    assert out.index.equals(frame.index)
    both = ColumnTransformer([("impute", make(max_iter=5), ["a", "kind"]), ("keep", "passthrough", ["b"])])
    assert both.set_output(transform="pandas").fit_transform(frame).index.equals(frame.index)


def test_polars_output_gives_numbers_as_floats_and_categories_as_categories():
    pl = pytest.importorskip("polars")
    frame = pd.DataFrame(hide(low_rank())[:, :2], columns=["a", "b"])
    frame["kind"] = pd.Categorical(["x", "y"] * 200)
    out = make(max_iter=5, add_indicator=True).set_output(transform="polars").fit_transform(frame)
    assert out.schema["a"] == pl.Float64 and out.schema["kind"] == pl.Categorical
    assert out["a"].null_count() == 0


def test_polars_output_keeps_labels_that_mix_numbers_and_text_as_objects():
    pl = pytest.importorskip("polars")
    frame = pd.DataFrame({"x": hide(low_rank(99))[:, 0], "size": pd.Series([1, 2, "3+"] * 33, dtype=object)})
    frame.loc[frame.index % 5 == 0, "size"] = None
    out = make(max_iter=2).set_output(transform="polars").fit_transform(frame)
    assert out.schema["size"] == pl.Object and set(out["size"].to_list()) == {1, 2, "3+"}


def test_polars_output_of_an_ordered_category_is_an_enum_until_a_label_fit_never_saw_comes():
    pl = pytest.importorskip("polars")
    levels = pd.Categorical(["lo", "hi", None, "mid"] * 25, categories=["lo", "mid", "hi"], ordered=True)
    frame = pd.DataFrame({"x": low_rank(100)[:, 0], "level": levels})
    imputer = make(max_iter=2).set_output(transform="polars").fit(frame)
    assert imputer.transform(frame).schema["level"] == pl.Enum(["lo", "mid", "hi"])
    new = frame.assign(level=pd.Categorical(["top"] + [None] * 99, categories=["lo", "mid", "hi", "top"]))
    with pytest.warns(UserWarning, match="not seen in fit"):
        assert imputer.transform(new).schema["level"] == pl.Categorical


def test_no_inverse_transform():
    assert not hasattr(make().fit(hide(low_rank())), "inverse_transform")


@pytest.mark.parametrize("beta", [1.0, 0.5])
def test_the_networks_train_on_the_importance_weighted_bound_of_several_draws(beta):
    imputer = make(max_iter=1, beta=beta).fit(hide(low_rank()))
    batch = torch.as_tensor(imputer._validate_X(hide(low_rank(50, seed=2)), reset=False), dtype=torch.float32)
    n_draws = imputer._n_training_samples()
    x, observed = imputer._prepare(batch)
    layout, running = imputer._layout(x.device), imputer.likelihood_.variance.clone()
    with torch.no_grad():
        mean, log_var = imputer.encoder_(x)
        noise = torch.randn((n_draws, *mean.shape), generator=torch.Generator().manual_seed(0))
        z = mean + torch.exp(0.5 * log_var) * noise
        log_q = -0.5 * (noise.square() + math.log(2 * math.pi) + log_var).sum(dim=-1)
        log_prior = -0.5 * (z.square() + math.log(2 * math.pi)).sum(dim=-1)

        def log_weights():
            # log p(x_obs | z) + beta (log p(z) - log q(z | x)): beta weighs the KL term, as in the ELBO.
            log_joint, decoded = imputer._log_joint(x, observed, z)
            return log_joint - log_prior + beta * (log_prior - log_q), decoded

        # Each draw weighted at the running variance; then all scored at the batch's optimum.
        weights, decoded = log_weights()
        numeric = layout.numeric_part(x), layout.numeric_part(decoded), layout.numeric_mask(observed)
        with imputer.likelihood_.at_batch_optimum(*numeric, torch.softmax(weights, dim=0)):
            weights = log_weights()[0]
        bound = (torch.logsumexp(weights, dim=0) - math.log(n_draws)).mean()
        imputer.likelihood_.variance = running
        loss = imputer._loss(batch, torch.Generator().manual_seed(0), has_missing=True)
    assert n_draws > 1
    torch.testing.assert_close(loss, -bound, rtol=1e-5, atol=1e-5)


def test_auto_draws_about_a_million_row_draws_between_300_and_3000(tmp_path):
    imputer = VAEImputer(max_iter=1, random_state=0)
    assert imputer.fit(hide(low_rank(400))).n_importance_samples_ == 2500
    assert imputer.fit(hide(low_rank(100))).n_importance_samples_ == 3000
    assert imputer.fit(hide(low_rank(4000))).n_importance_samples_ == 300
    # Saved and loaded, the imputer draws as many.
    skvae.save(imputer, tmp_path / "imputer.skvae")
    loaded = skvae.load(tmp_path / "imputer.skvae")
    assert loaded.n_importance_samples_ == 300
    X = hide(low_rank(50, seed=3))
    np.testing.assert_array_equal(loaded.transform(X), imputer.transform(X))
    # An integer is used as it is, also when set after fit; "auto" again takes the fit's rows.
    assert imputer.set_params(n_importance_samples=40)._importance_draws() == 40
    assert imputer.set_params(n_importance_samples="auto")._importance_draws() == 300
    # partial_fit keeps what its first call's rows resolved to, as it keeps their columns.
    streamed = VAEImputer(random_state=0).partial_fit(hide(low_rank(400)))
    assert streamed.partial_fit(hide(low_rank(4000))).n_importance_samples_ == 2500


def test_auto_max_iter_is_a_budget_of_optimizer_steps_counted_in_epochs():
    X = hide(low_rank(n_rows=1000))  # 5 batches of 200 rows per epoch
    # tol=0 and a long patience: the budget, not convergence, ends training.
    imputer = make(hidden_layer_sizes=(8,), tol=0.0, n_iter_no_change=10_000).fit(X)
    assert imputer.max_iter == "auto"
    assert imputer.n_iter_ == len(imputer.loss_curve_) == 500  # 2,500 steps
    assert imputer._max_epochs(10_000, 12, batch_size=200) == 50
    assert imputer._max_epochs(300, 12, batch_size=200) == 1250


def test_training_stops_on_observed_cells_set_aside_and_keeps_the_best_epoch():
    X = hide(low_rank(n_rows=300))
    imputer = make(early_stopping=True, hidden_layer_sizes=(16,), max_iter=60).fit(X)
    assert len(imputer.validation_scores_) == imputer.n_iter_
    assert imputer.best_validation_score_ == max(imputer.validation_scores_)
    # A score is minus the held-out cells' error: the best epoch is the one that errs least.
    assert all(score < 0 for score in imputer.validation_scores_)
    # The weights kept are the best epoch's: they predict the cells set aside that well.
    table = imputer._table
    coded = imputer._validate_X(X, reset=False)
    _, X_val = hold_out_cells(coded, table.starts, table.widths, imputer.validation_fraction, imputer._seed)
    with torch.no_grad():  # as fit scores them
        kept = float(imputer._validation_score(torch.as_tensor(X_val, dtype=torch.float32)))
    assert kept == pytest.approx(imputer.best_validation_score_, rel=1e-5)
    # Every row still trains and is imputed: cells are set aside, not rows.
    assert np.isfinite(imputer.transform(X)).all()


def test_without_early_stopping_every_observed_cell_trains_and_the_loss_decides(monkeypatch):
    decays = []

    def recording_train(*args, **kwargs):
        decays.append(kwargs["average_decay"])
        return train(*args, **kwargs)

    train = skvae._fitting.train
    monkeypatch.setattr(skvae._fitting, "train", recording_train)
    imputer = make(early_stopping=False, hidden_layer_sizes=(16,), max_iter=20)
    imputer.fit(hide(low_rank(n_rows=300)))
    assert not hasattr(imputer, "validation_scores_")
    # It ends with the moving average of its steps' weights (early stopping keeps its best
    # epoch's instead: _training.train).
    assert decays == [skvae._imputer._WEIGHT_AVERAGE_DECAY]


def test_conditional_means_are_estimated_from_two_rounds_of_fixed_quasi_random_draws(monkeypatch):
    imputer = make(n_importance_samples=31, max_iter=2).fit(hide(low_rank()))
    calls = []

    def recording(n_samples, n_dims, seed, device):
        calls.append((n_samples, seed))
        return quasi_random_normal(n_samples, n_dims, seed, device)

    quasi_random_normal = skvae._conditional.quasi_random_normal
    monkeypatch.setattr(skvae._conditional, "quasi_random_normal", recording)
    first = imputer.transform(hide(low_rank(50, seed=3)))
    assert calls == [(16, SCORE_SEED), (15, SCORE_SEED + 1)]
    np.testing.assert_array_equal(imputer.transform(hide(low_rank(50, seed=3))), first)


@pytest.mark.parametrize(("batches_per_epoch", "epochs"), [(1, 300), (2, 150), (7, 43), (30, 10), (100, 10)])
def test_auto_patience_with_early_stopping_waits_for_300_optimizer_steps_and_10_epochs(
    batches_per_epoch, epochs
):
    assert make(early_stopping=True)._patience(batches_per_epoch) == epochs
    # The best weights are kept only with early stopping: without, 10 epochs of the loss.
    assert make()._patience(batches_per_epoch) == 10
    assert make(early_stopping=True, n_iter_no_change=4)._patience(batches_per_epoch) == 4


def test_a_small_table_sets_one_cell_aside_and_one_cell_is_too_few():
    X = np.array([[1.0, np.nan], [2.0, 4.0], [3.0, 6.0]])  # 5 observed cells: 10% rounds up to one
    imputer = make(early_stopping=True, max_iter=5).fit(X)
    assert len(imputer.validation_scores_) == imputer.n_iter_
    assert np.isfinite(imputer.transform(X)).all()
    # As for the other estimators' rows: training and validation need one each.
    with pytest.raises(ValueError, match="cannot hold out validation_fraction=0.1 of the 1 observed cells"):
        make(early_stopping=True, max_iter=5).fit(np.array([[1.0, np.nan], [np.nan, np.nan]]))


def test_nan_is_allowed_input_only_where_it_marks_the_missing_cells():
    from sklearn.utils import get_tags

    assert get_tags(make()).input_tags.allow_nan
    assert get_tags(make(missing_values=pd.NA)).input_tags.allow_nan
    assert not get_tags(make(missing_values=-1)).input_tags.allow_nan


def test_the_step_budget_of_max_iter_auto_is_named_when_it_ends_training(monkeypatch):
    monkeypatch.setattr(skvae._imputer, "_STEP_BUDGET", 20)
    budget = r"Maximum iterations \(\d+ epochs, the step budget of max_iter='auto'\)"
    with pytest.warns(ConvergenceWarning, match=budget):
        make(max_iter="auto", n_iter_no_change=1000).fit(hide(low_rank(40)))


def test_auto_draws_shrink_on_wide_tables_to_keep_the_decoded_draws_in_memory():
    narrow = make(n_importance_samples="auto", max_iter=1).fit(hide(low_rank(100)))
    assert narrow.n_importance_samples_ == 3000
    for copies, draws in [(100, 500), (400, 300)]:  # 600 and 2,400 columns: fewer draws, never below 300
        wide = np.tile(hide(low_rank(100)), (1, copies))
        imputer = make(n_importance_samples="auto", max_iter=1, hidden_layer_sizes=(8,)).fit(wide)
        assert imputer.n_importance_samples_ == draws


@pytest.mark.parametrize("container", [np.asarray, pd.DataFrame])
def test_none_as_the_placeholder_is_imputed_and_nan_beside_it_refused(container):
    X = low_rank().astype(object)
    X[0, 0] = None
    out = make(missing_values=None, max_iter=2).fit_transform(container(X))
    assert np.isfinite(np.asarray(out, dtype=float)).all()
    X[1, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN, but missing_values=None"):
        make(missing_values=None).fit(container(X))


def test_nan_of_any_float_type_is_the_nan_placeholder():
    X = hide(low_rank())
    np.testing.assert_array_equal(
        make(missing_values=np.float32("nan"), max_iter=2).fit_transform(X), make(max_iter=2).fit_transform(X)
    )


def test_a_polars_nan_beside_another_placeholder_is_refused():
    pl = pytest.importorskip("polars")
    frame = pl.DataFrame({"a": [1.0, -1.0, 3.0] * 10, "b": [1.0, 2.0, float("nan")] * 10})
    with pytest.raises(ValueError, match="Input X contains NaN, but missing_values=-1"):
        make(missing_values=-1).fit(frame)


@pytest.mark.filterwarnings("ignore:Column 'kind' has categories not seen in fit:UserWarning")
def test_a_category_not_seen_in_fit_passes_through_as_an_observed_cell():
    fit = pd.DataFrame({"x": hide(low_rank(100))[:, 0], "kind": pd.Categorical(["u", "v", None, "u"] * 25)})
    new = pd.DataFrame({"x": [1.0, np.nan], "kind": pd.Categorical(["w", None], categories=["u", "v", "w"])})
    imputer = make(max_iter=2, add_indicator=True).fit(fit)
    with pytest.warns(UserWarning, match="not seen in fit"):
        out = imputer.set_output(transform="pandas").transform(new)
    assert out["kind"].iloc[0] == "w" and out["kind"].iloc[1] in ("u", "v")  # kept, and imputed
    assert list(out["kind"].cat.categories) == ["u", "v", "w"]
    assert out["missingindicator_kind"].dtype == np.float64  # as in a table of numbers
    assert out["missingindicator_kind"].tolist() == [0.0, 1.0]
    as_array = imputer.set_output(transform="default").transform(new)
    assert as_array[0, 1] == "w" and as_array[0, 0] == 1.0


@pytest.mark.parametrize("output", ["default", "pandas"])
def test_an_observed_label_passes_through_as_given_even_where_it_equals_another(output):
    # True == 1 to Python, and so one category (as OneHotEncoder makes them): the cell is still True.
    labels = pd.Series([1, 2, True, False] * 25, dtype=object)
    frame = pd.DataFrame({"x": hide(low_rank(100))[:, 0], "label": labels.mask(labels.index % 7 == 0)})
    out = make(max_iter=2).set_output(transform=output).fit_transform(frame)
    column = out["label"] if output == "pandas" else pd.Series(out[:, 1])
    observed = frame["label"].notna()
    assert [(type(v), v) for v in column[observed]] == [(type(v), v) for v in frame["label"][observed]]
    assert column[~observed].isin([1, 2, False]).all()


def test_ordered_categories_stay_ordered_and_a_placeholder_category_leaves_the_order_alone():
    levels = pd.Categorical(["lo", "hi", None, "mid"] * 25, categories=["lo", "mid", "hi"], ordered=True)
    frame = pd.DataFrame({"x": low_rank(100)[:, 0], "level": levels})
    out = make(max_iter=2).set_output(transform="pandas").fit_transform(frame)
    assert out["level"].dtype == levels.dtype and out["level"].notna().all()
    marked = frame.assign(
        level=pd.Categorical(["lo", "hi", "?", "mid"] * 25, categories=["lo", "mid", "hi", "?"])
    )
    out = make(max_iter=2, missing_values="?").set_output(transform="pandas").fit_transform(marked)
    assert list(out["level"].cat.categories) == ["lo", "mid", "hi"]  # not sorted, and no "?"


def test_a_polars_enum_loses_the_placeholder_among_its_categories():
    pl = pytest.importorskip("polars")
    levels = pl.Series(["lo", "hi", "?", "mid"] * 25, dtype=pl.Enum(["lo", "mid", "hi", "?"]))
    frame = pl.DataFrame({"x": low_rank(100)[:, 0], "level": levels})
    imputer = make(max_iter=2, missing_values="?").set_output(transform="pandas").fit(frame)
    out = imputer.transform(frame)
    assert list(out["level"].cat.categories) == ["lo", "mid", "hi"] and out["level"].notna().all()


@pytest.mark.filterwarnings("ignore:Column 1 has categories not seen in fit:UserWarning")
def test_a_list_of_rows_with_a_missing_category_is_imputed():
    rng = np.random.RandomState(0)
    rows = [[float(rng.normal()), "ab"[i % 2]] for i in range(60)]
    rows[0][0] = np.nan
    imputer = make(max_iter=2, categorical_features=[1]).fit(rows)
    out = imputer.transform([[1.0, None], [np.nan, "b"], [0.5, "c"]])
    assert out[0, 1] in ("a", "b") and out[1, 1] == "b" and np.isfinite(out[1, 0])
    assert out[2, 1] == "c"  # not seen in fit: passed through


def test_a_numeric_placeholder_in_a_list_of_rows_that_hold_text_is_imputed():
    rng = np.random.RandomState(0)
    rows = [[float(rng.normal()), "ab"[i % 2]] for i in range(60)]
    rows[0][0] = -1
    out = make(max_iter=2, missing_values=-1, categorical_features=[1]).fit_transform(rows)
    assert out[0, 0] != -1 and np.isfinite(out[0, 0]) and out[0, 1] == "a"
    assert out[1, 0] == rows[1][0]


@pytest.mark.filterwarnings("ignore:Column 'level' has categories not seen in fit:UserWarning")
def test_an_ordered_category_with_a_new_label_comes_back_unordered():
    levels = pd.Categorical(["lo", "mid", "hi", None] * 25, categories=["lo", "mid", "hi"], ordered=True)
    frame = pd.DataFrame({"x": low_rank(100)[:, 0], "level": levels})
    imputer = make(max_iter=2).set_output(transform="pandas").fit(frame)
    new = pd.DataFrame(
        {
            "x": [0.0],
            "level": pd.Categorical(["bottom"], categories=["bottom", "lo", "mid", "hi"], ordered=True),
        }
    )
    out = imputer.transform(new)["level"]
    assert out.iloc[0] == "bottom" and not out.cat.ordered
    assert list(out.cat.categories) == ["lo", "mid", "hi", "bottom"]
    assert imputer.transform(frame)["level"].cat.ordered  # without a new label, ordered as in fit
