"""The decoder's correction for the robust explanations: a quadratic function of the code, fitted
to the training residuals, that leaves the scores alone."""

import warnings

import numpy as np
import pytest
import torch

import skvae._residual_correction
from skvae import AutoencoderOutlierDetector, VAEOutlierDetector
from skvae._residual_correction import code_terms, fit_correction, n_code_terms


@pytest.fixture(autouse=True)
def quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        yield


def test_the_code_terms_are_one_the_code_and_its_pairwise_products():
    z = torch.tensor([[2.0, 3.0]])
    np.testing.assert_array_equal(code_terms(z), [[1.0, 2.0, 3.0, 4.0, 6.0, 9.0]])
    assert code_terms(torch.zeros(5, 4, 12)).shape == (5, 4, n_code_terms(12)) == (5, 4, 91)


def quadratic_residuals(n_rows=500, seed=0):
    generator = torch.Generator().manual_seed(seed)
    codes = torch.randn(n_rows, 3, generator=generator)
    true_weights = torch.randn(n_code_terms(3), 4, generator=generator)
    return codes, code_terms(codes) @ true_weights, true_weights


def test_a_quadratic_error_is_recovered():
    codes, residuals, true_weights = quadratic_residuals()
    np.testing.assert_allclose(fit_correction(codes, residuals), true_weights, atol=0.02)


def test_with_missing_residuals_each_column_is_fitted_on_its_observed_rows():
    codes, residuals, _ = quadratic_residuals()
    residuals = residuals + 0.1 * torch.randn(residuals.shape, generator=torch.Generator().manual_seed(1))
    observed = torch.rand(residuals.shape, generator=torch.Generator().manual_seed(2)) < 0.7
    weights = fit_correction(codes, torch.where(observed, residuals, 0.0), observed)
    for column in range(4):
        rows = observed[:, column]
        alone = fit_correction(codes[rows], residuals[rows, column : column + 1])
        np.testing.assert_allclose(weights[:, column : column + 1], alone, rtol=1e-3, atol=1e-4)


def test_complete_columns_share_one_system_and_the_others_are_solved_a_block_at_a_time(monkeypatch):
    codes, residuals, _ = quadratic_residuals()
    residuals = residuals + 0.1 * torch.randn(residuals.shape, generator=torch.Generator().manual_seed(1))
    observed = torch.ones(residuals.shape, dtype=torch.bool)
    observed[::3, 1] = observed[::5, 3] = False  # columns 0 and 2 complete
    weights = fit_correction(codes, torch.where(observed, residuals, 0.0), observed)
    np.testing.assert_allclose(weights[:, [0, 2]], fit_correction(codes, residuals[:, [0, 2]]), rtol=1e-6)
    n_terms = weights.shape[0]
    monkeypatch.setattr(skvae._residual_correction, "_GRAM_CELLS", n_terms**2)  # one column a block
    np.testing.assert_array_equal(
        fit_correction(codes, torch.where(observed, residuals, 0.0), observed), weights
    )


def test_a_column_never_observed_gets_no_correction():
    codes, residuals, _ = quadratic_residuals()
    observed = torch.ones_like(residuals, dtype=torch.bool)
    observed[:, 2] = False
    weights = fit_correction(codes, residuals, observed)
    assert torch.isfinite(weights).all()
    np.testing.assert_array_equal(weights[:, 2], 0.0)


def curved_rows(n_rows=400, seed=0):
    rng = np.random.RandomState(seed)
    t = rng.uniform(-2, 2, size=(n_rows, 1))
    return np.hstack([t, t**2, np.sin(t), t**3 / 4, np.cos(2 * t)]) + 0.05 * rng.normal(size=(n_rows, 5))


@pytest.mark.parametrize("detector_class", [AutoencoderOutlierDetector, VAEOutlierDetector])
def test_scores_are_the_decoders_own_and_the_explanations_use_the_correction(detector_class):
    X = curved_rows()
    detector = detector_class(n_components=2, max_iter=3, random_state=0).fit(X)
    assert detector._residual_weights.shape == (n_code_terms(2), 5)
    scores, explanations = detector.score_samples(X), detector.feature_contributions(X[:20])
    del detector._residual_weights  # as a model saved before the correction
    np.testing.assert_array_equal(detector.score_samples(X), scores)
    assert not np.allclose(detector.feature_contributions(X[:20]), explanations)


@pytest.mark.parametrize("detector_class", [AutoencoderOutlierDetector, VAEOutlierDetector])
def test_corrected_surprise_is_one_per_column_on_average_over_the_training_rows(detector_class):
    X = curved_rows()
    detector = detector_class(n_components=2, max_iter=3, random_state=0).fit(X)
    coded = detector._validate_X(X, reset=False)
    surprise = detector._map_rows(lambda rows: detector._corrected_surprise_at_encoding(rows)[0], coded)
    # The divisor comes from evenly spaced rows (here all 400 of them).
    np.testing.assert_allclose(surprise.mean(axis=0) / detector._surprise_divisor, 1.0, rtol=1e-4)


def test_a_bernoulli_vae_explains_with_its_decoder_alone():
    X = (curved_rows() > 0).astype(float)
    detector = VAEOutlierDetector(likelihood="bernoulli", n_components=2, max_iter=2, random_state=0).fit(X)
    assert detector._residual_weights is None and detector._surprise_divisor is None
    assert np.isfinite(detector.feature_contributions(X[:5])).all()


@pytest.mark.parametrize("detector_class", [AutoencoderOutlierDetector, VAEOutlierDetector])
def test_training_rows_with_missing_cells_fit_the_correction_on_their_observed_cells(detector_class):
    X = curved_rows()
    X[np.random.RandomState(1).rand(*X.shape) < 0.2] = np.nan
    X[np.isnan(X).all(axis=1), 0] = 0.0  # every row keeps a cell
    detector = detector_class(n_components=2, max_iter=3, random_state=0).fit(X)
    assert np.isfinite(detector._residual_weights).all() and np.isfinite(detector._surprise_divisor).all()
    contributions = detector.feature_contributions(X[:20])
    assert np.isfinite(contributions).all()
    np.testing.assert_array_equal(contributions[np.isnan(X[:20])], 0.0)


def test_the_correction_fits_the_observed_residuals_of_incomplete_rows_not_their_zero_fills():
    rng = np.random.RandomState(0)
    z = rng.normal(size=1000)
    X = np.column_stack([z, -z, np.zeros(1000)]) + 0.1 * rng.normal(size=(1000, 3))
    X[::2, 0] = np.nan
    detector = AutoencoderOutlierDetector(n_components=2, max_iter=1, random_state=0).fit(X)
    codes_and_residuals = torch.as_tensor(
        detector._map_rows(detector._codes_and_residuals, X, allow_nan=True)
    )
    codes, residuals = codes_and_residuals[:, :2], codes_and_residuals[:, 2:]
    corrected = residuals - code_terms(codes) @ torch.as_tensor(detector._residual_weights, dtype=codes.dtype)
    observed = ~torch.isnan(residuals[:, 0])
    # Least squares on the observed cells leaves residuals of mean 0 there; fitting the zero
    # fills of the missing ones as well would pull the correction, and leave them off centre.
    assert abs(corrected[observed, 0].mean().item()) < 0.02
