"""feature_contributions(method="robust") names the features that break a row (skvae._explanation)."""

import numpy as np
import pandas as pd
import pytest
import torch

from skvae import AutoencoderOutlierDetector, VAEOutlierDetector
from skvae._explanation import _AnchorDensity, robust_surprise

DETECTORS = [AutoencoderOutlierDetector, VAEOutlierDetector]


def sensors(n_rows=600, n_sensors=10, seed=0):
    """Rows on a curved 2-factor surface, standardised."""
    rng = np.random.RandomState(seed)
    t, s = rng.uniform(-np.pi, np.pi, n_rows), rng.normal(size=n_rows)
    X = np.sin(np.outer(t, rng.uniform(0.5, 2, n_sensors)) + rng.uniform(0, 2 * np.pi, n_sensors))
    X += 0.5 * np.outer(s, rng.normal(size=n_sensors)) + 0.05 * rng.normal(size=X.shape)
    return (X - X.mean(axis=0)) / X.std(axis=0)


def break_rows(X, n_broken, seed=0):
    """Copies of X's rows with n_broken cells each from another row, where it differs by over 1."""
    rng = np.random.RandomState(seed)
    rows, broken = X.copy(), np.zeros(X.shape, dtype=bool)
    for i in range(len(X)):
        donor = X[rng.randint(len(X))]
        far = np.flatnonzero(np.abs(donor - X[i]) > 1.0)
        chosen = rng.choice(far, min(n_broken, len(far)), replace=False)
        rows[i, chosen], broken[i, chosen] = donor[chosen], True
    keep = broken.sum(axis=1) == n_broken
    return rows[keep], broken[keep]


def precision(contributions, broken):
    k = broken.sum(axis=1)[0]
    top = np.argsort(contributions, axis=1)[:, :k]
    return np.take_along_axis(broken, top, axis=1).mean()


@pytest.fixture(scope="module")
def models():
    X = sensors()
    return X, {cls: cls(n_components=3, max_iter=100, random_state=0).fit(X[:500]) for cls in DETECTORS}


@pytest.mark.parametrize("detector_class", DETECTORS)
def test_robust_contributions_name_the_broken_features_better_than_the_score_terms(detector_class, models):
    X, fitted = models
    detector = fitted[detector_class]
    rows, broken = break_rows(X[500:], n_broken=3)
    robust = precision(detector.feature_contributions(rows), broken)
    plain = precision(detector.feature_contributions(rows, method="reconstruction"), broken)
    assert robust >= 0.6
    assert robust >= plain + 0.15


@pytest.mark.parametrize("detector_class", DETECTORS)
def test_the_robust_terms_of_intact_rows_are_mostly_above_the_mean_training_error(detector_class, models):
    # Minus a squared error in units of the mean training error (the VAE's: half of it, in nats).
    X, fitted = models
    unit = 1.0 if detector_class is AutoencoderOutlierDetector else 0.5
    terms = fitted[detector_class].feature_contributions(X[500:])
    assert np.all(terms <= 0)
    assert np.percentile(terms, 25) > -unit


@pytest.mark.parametrize("detector_class", DETECTORS)
def test_a_row_is_explained_alike_alone_and_among_others(detector_class, models):
    X, fitted = models
    rows, _ = break_rows(X[500:], n_broken=2)
    detector = fitted[detector_class]
    np.testing.assert_allclose(
        detector.feature_contributions(rows[:3]), detector.feature_contributions(rows)[:3], atol=1e-5
    )


@pytest.mark.parametrize("detector_class", DETECTORS)
def test_missing_cells_contribute_zero_and_the_broken_feature_is_still_named(detector_class, models):
    X, fitted = models
    rows = X[500:520].copy()
    rows[:, 3] += 4.0
    rows[:, 7] = np.nan
    contributions = fitted[detector_class].feature_contributions(rows)
    assert np.all(contributions[:, 7] == 0) and np.all(np.isfinite(contributions))
    assert np.mean(np.argmin(contributions, axis=1) == 3) >= 0.9


@pytest.mark.parametrize("detector_class", DETECTORS)
def test_a_model_without_anchor_codes_starts_from_the_encoder_alone(detector_class, models):
    # As a model saved by an earlier version of skvae.
    X, fitted = models
    detector = fitted[detector_class]
    anchors = detector._anchor_codes
    del detector._anchor_codes
    rows = X[500:520].copy()
    rows[:, 3] += 4.0
    try:
        contributions = detector.feature_contributions(rows)
    finally:
        detector._anchor_codes = anchors
    assert contributions.shape == (20, X.shape[1]) and np.all(np.isfinite(contributions))
    assert np.mean(np.argmin(contributions, axis=1) == 3) >= 0.9


@pytest.mark.parametrize("method", ["shapley", None, 1])
def test_an_unknown_method_is_rejected(method, models):
    X, fitted = models
    with pytest.raises(ValueError, match="'method' parameter of feature_contributions"):
        fitted[AutoencoderOutlierDetector].feature_contributions(X[:3], method=method)


def test_robust_surprise_of_a_linear_model_blames_the_outlying_coordinate():
    # x = W z exactly but for coordinate 4, moved far: its surprise dwarfs the others'.
    generator = torch.Generator().manual_seed(0)
    W = torch.randn(2, 8, generator=generator)
    z = torch.randn(5, 2, generator=generator)
    x = z @ W
    x[:, 4] += 10.0

    def surprise(codes):
        return (x - codes @ W).square()

    result = robust_surprise(surprise, torch.zeros(5, 2), anchors=None)
    assert result.shape == (5, 8)
    assert torch.all(result.argmax(dim=1) == 4)
    assert torch.all(result[:, 4] > 50) and torch.all(result[:, [0, 1, 2, 3, 5, 6, 7]] < 1e-2)


def test_the_anchors_density_keeps_the_robust_code_where_training_codes_are():
    # Training codes on a line (z_2 about 0); the decoder also reads z_2, through features 0 and 1
    # alone. Both features moved by 3, as z_2 = 1 would move them: with an N(0, I) prior, the
    # robust fit takes that code, which no training row has, and blames nothing; with the
    # anchors' density, it keeps z_2 near 0 and blames features 0 and 1 first.
    generator = torch.Generator().manual_seed(0)
    W = torch.randn(2, 8, generator=generator)
    W[1] = 0.0
    W[1, :2] = 3.0
    anchors = torch.stack(
        [4 * torch.rand(256, generator=generator) - 2, 0.05 * torch.randn(256, generator=generator)], dim=1
    )
    z = torch.stack([torch.linspace(-1, 1, 5), torch.zeros(5)], 1)
    x = z @ W
    x[:, :2] += 3.0

    def surprise(codes):
        return (x - codes @ W).square() / 0.01

    start = z + torch.tensor([0.0, 1.0])  # the encoder, misled as the fit would be
    prior = (torch.zeros(2), torch.ones(2))
    gaussian = robust_surprise(surprise, start, anchors, prior=prior)
    density = robust_surprise(surprise, start, anchors, prior=prior, anchor_density=True)
    # (Left out, either feature is predicted with N(0, I)'s spread of z_2: surprises about 1.)
    assert torch.all(gaussian[:, :2] < 1e-2)
    assert torch.all(density[:, :2] > 0.5) and torch.all(density[:, 2:] < 1e-2)


def test_the_anchors_density_has_the_gradient_of_its_log_sum_exp():
    # The kernel energy's hand-written backward pass against autograd's.
    generator = torch.Generator().manual_seed(0)
    anchors = torch.randn(256, 3, generator=generator) * torch.tensor([1.0, 2.0, 0.5])
    z = (2 * torch.randn(4, 7, 3, generator=generator)).requires_grad_(True)
    density = _AnchorDensity(anchors)
    u = z / density.scale
    squared = (u[..., None, :] - density.anchors).square().sum(dim=-1)
    expected = -2 * (torch.logsumexp(-0.5 * squared, dim=-1) - np.log(len(anchors)))
    value = density(z)
    torch.testing.assert_close(value, expected, rtol=1e-5, atol=1e-4)
    (got,) = torch.autograd.grad(value.sum(), z)
    (want,) = torch.autograd.grad(expected.sum(), z)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("detector_class", DETECTORS)
def test_a_table_with_a_categorical_column_and_missing_cells(detector_class):
    rng = np.random.RandomState(0)
    X = sensors(n_rows=300, n_sensors=5)
    table = pd.DataFrame(X, columns=[f"x{j}" for j in range(5)])
    table["kind"] = pd.Categorical(np.where(X[:, 0] > 0, "high", "low"))
    table.iloc[rng.choice(300, 30, replace=False), 2] = np.nan
    detector = detector_class(n_components=2, max_iter=20, random_state=0).fit(table)
    contributions = detector.feature_contributions(table.iloc[:50])
    assert list(contributions.columns) == list(table.columns)
    assert np.all(np.isfinite(contributions.to_numpy()))
    np.testing.assert_array_equal(contributions["x2"].to_numpy()[table["x2"].iloc[:50].isna()], 0)


def test_a_bernoulli_vae_explains_binary_rows():
    X = (sensors(n_rows=300, n_sensors=8) > 0).astype(float)
    detector = VAEOutlierDetector(likelihood="bernoulli", max_iter=20, random_state=0).fit(X)
    rows = X[:40].copy()
    rows[:, 3] = 1 - rows[:, 3]  # a flipped bit, often one its neighbours contradict
    contributions = detector.feature_contributions(rows)
    assert contributions.shape == (40, 8) and np.all(np.isfinite(contributions))
    assert np.mean(np.argmin(contributions, axis=1) == 3) > 2 / 8  # twice chance (0.33 measured)


@pytest.mark.parametrize("detector_class", DETECTORS)
def test_a_convolutional_network_explains_rows_as_it_scores_them(detector_class):
    # The search decodes several starting codes at once; a convolution must still see rows.
    X = sensors(n_rows=200, n_sensors=16)
    detector = detector_class(
        network="conv", input_shape=(1, -1), hidden_layer_sizes=(4,), max_iter=5, random_state=0
    ).fit(X)
    rows = X[:20].copy()
    rows[:, 3] += 4.0
    contributions = detector.feature_contributions(rows)
    assert contributions.shape == (20, 16) and np.all(np.isfinite(contributions))
    assert np.mean(np.argmin(contributions, axis=1) == 3) >= 0.9


@pytest.mark.parametrize("detector_class", DETECTORS)
def test_wide_rows_are_explained_a_few_at_a_time_with_the_same_result(detector_class, models, monkeypatch):
    X, fitted = models
    expected = fitted[detector_class].feature_contributions(X[:100])
    monkeypatch.setattr("skvae._explanation._CELLS_AT_ONCE", 64 * 4 * X.shape[1])  # 64 rows, one anchor
    np.testing.assert_allclose(
        fitted[detector_class].feature_contributions(X[:100]), expected, rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("detector_class", DETECTORS)
def test_contributions_of_a_polars_frame_are_a_polars_frame_with_its_names(detector_class):
    pl = pytest.importorskip("polars")
    rng = np.random.RandomState(0)
    frame = pl.DataFrame(rng.normal(size=(100, 4)), schema=["a", "b", "c", "d"], orient="row")
    detector = detector_class(max_iter=2, random_state=0).fit(frame)
    contributions = detector.feature_contributions(frame[:5])
    assert isinstance(contributions, pl.DataFrame) and contributions.columns == ["a", "b", "c", "d"]
    np.testing.assert_array_equal(
        contributions.to_numpy(), detector.feature_contributions(frame[:5].to_pandas())
    )


def test_an_intact_categorical_column_is_not_named_before_a_broken_number():
    rng = np.random.RandomState(0)
    z = rng.normal(size=(600, 2))
    columns = [f"n{i}" for i in range(6)]
    table = pd.DataFrame(z @ rng.normal(size=(2, 6)) + 0.1 * rng.normal(size=(600, 6)), columns=columns)
    table["cat"] = pd.Categorical(rng.choice([f"c{i}" for i in range(20)], 600))  # independent of the rest
    detector = VAEOutlierDetector(random_state=0).fit(table)
    terms = detector.feature_contributions(table.iloc[:200])
    # in units of their mean on the training rows, as the numeric columns: -0.5 on a typical row
    # (the cross-entropy of 20 even categories, -log 20 / 2 = -1.5, named it in 96% of rows)
    assert terms["cat"].median() == pytest.approx(-0.5, abs=0.1)
    assert (terms.to_numpy().argmin(axis=1) == 6).mean() < 0.5


@pytest.mark.parametrize("detector_class", DETECTORS)
def test_data_on_a_tiny_scale_given_unscaled_is_explained_as_at_unit_scale(detector_class):
    # the codes then spread over about 1e-7: an absolute floor on the search's step outran them
    # (the broken feature named in 0-3% of rows)
    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 6)) @ rng.normal(size=(6, 6))
    X = (X - X.mean(axis=0)) / X.std(axis=0) * 1e-6
    rows = X[300:].copy()
    rows[:, 3] += 4e-6  # feature 3 broken in every row
    with pytest.warns(UserWarning, match="typical standard deviation is 9.8e-07"):
        detector = detector_class(n_components=2, max_iter=30, random_state=0).fit(X[:300])
    assert (detector.feature_contributions(rows).argmin(axis=1) == 3).mean() > 0.9


def test_the_vaes_robust_terms_of_standardised_columns_do_not_depend_on_their_units():
    # squared residuals over the variance, not a difference of float32 log-densities
    X = sensors(n_rows=300)
    terms = [
        VAEOutlierDetector(n_components=3, max_iter=20, standardize=True, random_state=0)
        .fit(X * unit)
        .feature_contributions(X[:50] * unit)
        for unit in (1.0, 1e6)
    ]
    np.testing.assert_allclose(terms[1], terms[0], rtol=1e-5, atol=1e-6)


def test_a_column_the_correction_rows_never_observe_divides_its_surprise_by_one():
    # The correction reads 2,000 evenly spaced training rows; column 3 is observed in row 1 only.
    X = np.random.RandomState(0).normal(size=(5000, 4))
    X[:, 3] = np.nan
    X[1, 3] = 0.5
    detector = AutoencoderOutlierDetector(max_iter=1, random_state=0).fit(X)
    assert detector._surprise_divisor[3] == 1.0
    assert np.isfinite(detector.feature_contributions(X[:20], method="robust")).all()
