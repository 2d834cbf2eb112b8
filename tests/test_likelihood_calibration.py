"""The VAE's likelihood after training: variances at the ELBO's optimum on all the training
rows, a Student-t's scales by EM (skvae._likelihood_calibration)."""

import numpy as np
import pandas as pd
import pytest
import torch

import skvae._likelihood_calibration
from skvae import VAETransformer
from skvae._column_statistics import evenly_spaced_rows
from skvae._likelihood_calibration import balanced_noise, squared_residuals
from skvae._tensors import nan_where_missing


def squared_residuals_or_nan(vae, X):
    """``squared_residuals`` of the rows X, NaN where missing."""
    return vae._map_rows(lambda rows: nan_where_missing(*squared_residuals(vae, rows)), X, allow_nan=True)


@pytest.fixture
def X():
    rng = np.random.RandomState(0)
    return rng.normal(size=(150, 2)) @ rng.normal(size=(2, 5)) + 0.1 * rng.normal(size=(150, 5))


def test_gaussian_variance_is_the_mean_squared_residual(X):
    for likelihood, shape in [("gaussian", (5,)), ("gaussian_shared", (1,))]:
        vae = VAETransformer(likelihood=likelihood, max_iter=20, random_state=0).fit(X)
        residuals = squared_residuals_or_nan(vae, X)
        expected = residuals.mean(axis=0) if shape == (5,) else [residuals.mean()]
        np.testing.assert_allclose(vae.likelihood_.variance.numpy(), expected, rtol=1e-4)


def test_a_shared_variance_counts_every_observed_cell_once(X):
    # One column mostly missing: it weighs as many cells as it has, as in training.
    X = X.copy()
    X[np.random.RandomState(1).rand(len(X)) < 0.9, 0] = np.nan
    vae = VAETransformer(likelihood="gaussian_shared", max_iter=20, random_state=0).fit(X)
    residuals = squared_residuals_or_nan(vae, X)
    np.testing.assert_allclose(vae.likelihood_.variance.numpy(), [np.nanmean(residuals)], rtol=1e-4)


def test_squared_residuals_average_over_each_rows_posterior():
    # The ELBO's optimal variance is the mean over rows of E_q[(x - decoded)^2]: many random
    # draws per row agree with one balanced draw per row, where one draw shared by every row
    # would not (it was 65% off on these rows).
    rng = np.random.RandomState(0)
    X = rng.normal(size=(1000, 2)) @ rng.normal(size=(2, 5)) + 0.1 * rng.normal(size=(1000, 5))
    vae = VAETransformer(max_iter=10, random_state=0).fit(X)
    x = torch.as_tensor(X, dtype=torch.float32)
    with torch.no_grad():
        mean, log_var = vae.encoder_(x)
        noise = torch.randn((500, *mean.shape), generator=torch.Generator().manual_seed(0))
        expected = (x - vae.decoder_(mean + torch.exp(0.5 * log_var) * noise)).square().mean(dim=(0, 1))
    balanced = squared_residuals_or_nan(vae, X).mean(axis=0)
    np.testing.assert_allclose(balanced, expected.numpy(), rtol=0.06)


@pytest.mark.parametrize("n_components", [1, 2, 3, 10, 16])
def test_balanced_noise_has_the_standard_normals_first_two_moments(n_components):
    noise = balanced_noise(n_components)
    assert noise.shape[1] == n_components and len(noise) <= 2 * n_components + 2
    torch.testing.assert_close(noise.mean(dim=0), torch.zeros(n_components))
    torch.testing.assert_close(noise.T @ noise / len(noise), torch.eye(n_components))


def test_student_t_trains_as_the_gaussian_and_fits_its_scales_to_the_residuals(X):
    gaussian = VAETransformer(max_iter=20, random_state=0).fit(X)
    student_t = VAETransformer(likelihood="student_t", max_iter=20, random_state=0).fit(X)
    np.testing.assert_array_equal(student_t.transform(X), gaussian.transform(X))
    torch.testing.assert_close(student_t.likelihood_.variance, gaussian.likelihood_.variance)
    assert_student_t_scales_are_maximum_likelihood(student_t, X)
    assert not np.allclose(student_t.score_samples(X), gaussian.score_samples(X))


def assert_student_t_scales_are_maximum_likelihood(vae, X):
    """At the maximum, the expected precisions of the observed cells' residuals average to 1
    and the scales are the mean of the precision-weighted squares."""
    squares = torch.as_tensor(squared_residuals_or_nan(vae, X), dtype=torch.float32)
    observed = ~torch.isnan(squares)
    weights = vae.likelihood_.precision_weights(squares.nan_to_num(0.0)) * observed
    counts = observed.sum(dim=0)
    torch.testing.assert_close(weights.sum(dim=0) / counts, torch.ones(5), rtol=1e-3, atol=0)
    weighted_mean = (weights * squares.nan_to_num(0.0)).sum(dim=0) / counts
    torch.testing.assert_close(weighted_mean, vae.likelihood_.scale, rtol=1e-3, atol=0)


def test_student_t_scales_leave_missing_cells_out(X):
    X = X.copy()
    X[::3, 0] = np.nan
    X[1::4, 3] = np.nan
    vae = VAETransformer(likelihood="student_t", max_iter=20, random_state=0).fit(X)
    assert_student_t_scales_are_maximum_likelihood(vae, X)


def test_student_t_scales_come_from_evenly_spaced_rows_beyond_the_memory_cap(X, monkeypatch):
    full = VAETransformer(likelihood="student_t", max_iter=20, random_state=0).fit(X).likelihood_.scale
    monkeypatch.setattr(skvae._likelihood_calibration, "_EM_CELLS", 50 * X.shape[1])
    vae = VAETransformer(likelihood="student_t", max_iter=20, random_state=0).fit(X)
    capped = vae.likelihood_.scale
    assert not torch.equal(capped, full)
    torch.testing.assert_close(capped, full, rtol=0.5, atol=0)
    # The scales are those that fit the 50 evenly spaced rows best.
    assert_student_t_scales_are_maximum_likelihood(vae, X[evenly_spaced_rows(len(X), 50)])


def test_a_table_of_categories_only_keeps_its_shared_variance_as_it_was():
    frame = pd.DataFrame({"a": pd.Categorical(list("xyzx") * 20), "b": pd.Categorical(list("uvvu") * 20)})
    vae = VAETransformer(likelihood="gaussian_shared", n_components=2, max_iter=2, random_state=0).fit(frame)
    assert vae.likelihood_.variance.tolist() == [1.0]  # no residual to set it from, in training or after
    assert np.isfinite(vae.score_samples(frame)).all()
