"""VAETransformer: the ELBO, deterministic scores and generation."""

import math
import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA, FactorAnalysis
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

import skvae._vae
from skvae import VAETransformer


@pytest.fixture
def X():
    rng = np.random.RandomState(0)
    return rng.normal(size=(150, 2)) @ rng.normal(size=(2, 5)) + 0.1 * rng.normal(size=(150, 5))


@pytest.fixture
def vae(X):
    return VAETransformer(n_components=2, max_iter=30, n_importance_samples=16, random_state=0).fit(X)


def test_transform_is_the_deterministic_posterior_mean(vae, X):
    np.testing.assert_array_equal(vae.transform(X), vae.transform(X))
    mean, _ = vae.encoder_(torch.as_tensor(X[:3], dtype=torch.float32))
    np.testing.assert_allclose(vae.transform(X[:3]), mean.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_score_samples_is_deterministic_and_row_independent(vae, X):
    scores = vae.score_samples(X)
    np.testing.assert_array_equal(scores, vae.score_samples(X))
    np.testing.assert_allclose(vae.score_samples(X[::-1])[::-1], scores, rtol=1e-6)
    np.testing.assert_allclose(vae.score_samples(X[:1]), scores[:1], rtol=1e-6)
    assert np.all(np.isfinite(scores))


def test_importance_weighting_tightens_the_elbo(vae, X):
    elbo = vae.set_params(n_importance_samples=1).score(X)
    iwae = vae.set_params(n_importance_samples=64).score(X)
    assert iwae > elbo


def test_score_is_a_log_likelihood_comparable_with_pca(X):
    digits = load_digits()
    noise = np.random.RandomState(0).uniform(size=digits.data.shape)
    X_train, X_test = train_test_split(
        (digits.data + noise) / 17, test_size=0.2, stratify=digits.target, random_state=0
    )
    vae = VAETransformer(n_components=8, random_state=0).fit(X_train)
    # Both are nats per row on the same held-out data; the VAE is the better density.
    assert vae.score(X_test) > PCA(n_components=8).fit(X_train).score(X_test)


def test_loss_curve_is_the_negative_elbo_and_decreases(vae):
    assert len(vae.loss_curve_) == vae.n_iter_ == 30
    assert vae.loss_curve_[-1] < vae.loss_curve_[0]


def test_early_stopping_monitors_the_validation_elbo(X):
    vae = VAETransformer(max_iter=30, early_stopping=True, random_state=0).fit(X)
    assert len(vae.validation_scores_) == vae.n_iter_
    assert vae.best_validation_score_ == max(vae.validation_scores_)


def test_sample_generates_rows_in_input_space(vae):
    rows = vae.sample(7, random_state=0)
    assert rows.shape == (7, 5) and rows.dtype == np.float64
    np.testing.assert_array_equal(rows, vae.sample(7, random_state=0))
    assert not np.array_equal(rows, vae.sample(7, random_state=1))
    # Codes drawn from the prior N(0, I), decoded to the mean of p(x | z).
    seed = np.random.RandomState(0).randint(np.iinfo(np.int32).max)
    z = torch.randn((7, vae.n_components_), generator=torch.Generator().manual_seed(int(seed)))
    np.testing.assert_allclose(rows, vae.inverse_transform(z.numpy().astype(np.float64)), rtol=1e-6)
    for invalid in (0, -1, 2.0, "3", True):
        with pytest.raises(ValueError, match="n_samples must be a positive integer"):
            vae.sample(invalid)


def test_beta_zero_drops_the_kl_term(X):
    plain = VAETransformer(max_iter=5, random_state=0).fit(X)
    no_kl = VAETransformer(max_iter=5, beta=0.0, random_state=0).fit(X)
    assert no_kl.loss_curve_[-1] < plain.loss_curve_[-1]


def test_bernoulli_likelihood_reconstructs_probabilities():
    X = (load_digits().data / 16)[:300]
    vae = VAETransformer(likelihood="bernoulli", max_iter=5, random_state=0).fit(X)
    reconstruction = vae.inverse_transform(vae.transform(X))
    assert reconstruction.min() >= 0 and reconstruction.max() <= 1
    assert np.all(vae.score_samples(X) < 0)  # a probability mass, at most 1


def test_bernoulli_likelihood_rejects_values_outside_the_unit_interval(X):
    with pytest.raises(ValueError, match=r"X in \[0, 1\]"):
        VAETransformer(likelihood="bernoulli").fit(X)
    fitted = VAETransformer(likelihood="bernoulli", max_iter=2).fit(np.clip(X, 0, 1))
    with pytest.raises(ValueError, match=r"X in \[0, 1\]"):
        fitted.score_samples(X)


@pytest.fixture(scope="module")
def dequantised_digits():
    """Digits as densities are measured on them: (pixels + U[0, 1)) / 17."""
    digits = load_digits()
    noise = np.random.RandomState(0).uniform(size=digits.data.shape)
    return train_test_split((digits.data + noise) / 17, test_size=360, stratify=digits.target, random_state=0)


def test_linear_vae_with_shared_variance_is_probabilistic_pca(dequantised_digits):
    X_train, X_test = dequantised_digits
    vae = VAETransformer(
        n_components=8,
        hidden_layer_sizes=(),
        activation="identity",
        likelihood="gaussian_shared",
        learning_rate_init=3e-3,
        batch_size=64,
        max_iter=1000,
        random_state=0,
    ).fit(X_train)
    # PPCA's maximum likelihood is the optimum of this VAE (Lucas et al., 2019).
    assert vae.score(X_test) == pytest.approx(PCA(n_components=8).fit(X_train).score(X_test), abs=0.5)


def test_default_vae_is_a_better_density_than_factor_analysis(dequantised_digits):
    X_train, X_test = dequantised_digits
    vae = VAETransformer(n_components=8, random_state=0).fit(X_train)
    assert vae.score(X_test) >= FactorAnalysis(n_components=8).fit(X_train).score(X_test) + 10


def test_constant_columns_keep_a_finite_likelihood(X):
    X_const = np.column_stack([X, np.full(len(X), 3.0)])
    vae = VAETransformer(max_iter=10, random_state=0).fit(X_const)
    assert np.all(np.isfinite(vae.score_samples(X_const)))
    shifted = X_const.copy()
    shifted[:, -1] += 1.0
    assert np.all(vae.score_samples(shifted) < vae.score_samples(X_const))


def test_transform_can_return_the_posterior_std(vae, X):
    mean, std = vae.transform(X, return_std=True)
    np.testing.assert_array_equal(mean, vae.transform(X))
    _, log_var = vae.encoder_(torch.as_tensor(X, dtype=torch.float32))
    np.testing.assert_allclose(std, torch.exp(0.5 * log_var).detach().numpy(), rtol=1e-5)
    assert std.shape == mean.shape and np.all(std > 0)
    assert mean.flags.c_contiguous and std.flags.c_contiguous


def test_return_std_encodes_incomplete_rows_as_transform_does(vae, X):
    incomplete = X[:20].copy()
    incomplete[::2, 1] = np.nan
    mean, std = vae.transform(incomplete, return_std=True)
    np.testing.assert_array_equal(mean, vae.transform(incomplete))
    assert np.all(np.isfinite(std)) and np.all(std > 0)


def test_a_vae_streamed_one_row_per_partial_fit_call_learns_the_rows():
    rng = np.random.RandomState(0)
    weights = rng.normal(size=(2, 6))
    rows = rng.normal(size=(400, 2)) @ weights + 0.1 * rng.normal(size=(400, 6))
    held_out = rng.normal(size=(200, 2)) @ weights + 0.1 * rng.normal(size=(200, 6))
    vae = VAETransformer(random_state=0)
    for row in rows:
        vae.partial_fit(row[None, :])
    error = np.mean((vae.inverse_transform(vae.transform(held_out)) - held_out) ** 2)
    assert error < 0.2 * np.mean((held_out - rows.mean(axis=0)) ** 2)


def test_return_std_gives_the_spreads_in_the_container_of_the_means(X):
    import pandas as pd

    frame = pd.DataFrame(X, columns=list("abcde"), index=np.arange(len(X)) + 100)
    vae = VAETransformer(max_iter=2, random_state=0).set_output(transform="pandas").fit(frame)
    mean, std = vae.transform(frame, return_std=True)
    assert isinstance(std, pd.DataFrame) and std.index.equals(frame.index)
    assert list(std.columns) == list(mean.columns) == list(vae.get_feature_names_out())
    np.testing.assert_array_equal(
        std.to_numpy(), vae.set_output(transform="default").transform(frame, return_std=True)[1]
    )


def test_sample_follows_set_output_with_input_column_names(X):
    import pandas as pd

    frame = pd.DataFrame(X, columns=list("abcde"))
    vae = VAETransformer(max_iter=2, random_state=0).set_output(transform="pandas").fit(frame)
    rows = vae.sample(4, random_state=0)
    assert isinstance(rows, pd.DataFrame) and list(rows.columns) == list("abcde")


@pytest.mark.parametrize("seed", [2, 5])
def test_the_validation_score_is_the_mean_elbo_of_the_rows(seed):
    # Each row draws its own code: one draw shared by every row erred here by 0.18 and 0.31 nats.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(1000, 2)) @ rng.normal(size=(2, 6)) + 0.3 * rng.normal(size=(1000, 6))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        vae = VAETransformer(2, hidden_layer_sizes=(32,), max_iter=30, random_state=seed).fit(X)
    rows = torch.as_tensor(X, dtype=torch.float32)
    with torch.no_grad():
        many_draws = torch.randn((400, 2), generator=torch.Generator().manual_seed(123))
        elbo = float(vae._log_importance_weights(rows, many_draws).mean())
        assert float(vae._validation_score(rows)) == pytest.approx(elbo, abs=0.08)


def test_a_bernoulli_vae_of_a_table_without_observed_numbers_checks_no_range():
    import pandas as pd

    rng = np.random.RandomState(0)
    categories = pd.DataFrame(
        {"u": pd.Categorical(rng.choice(list("abc"), 60)), "w": rng.choice(["x", "y"], 60)}
    )
    vae = VAETransformer(1, likelihood="bernoulli", max_iter=2, random_state=0).fit(categories)
    assert np.isfinite(vae.score_samples(categories)).all()
    table = categories.assign(p=rng.uniform(size=60))
    vae = VAETransformer(1, likelihood="bernoulli", max_iter=2, random_state=0).fit(table)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's "All-NaN slice" warning among them
        assert np.isfinite(vae.score_samples(table.assign(p=np.nan))).all()


def test_the_loss_is_minus_the_elbo_of_one_draw_at_the_batchs_optimal_variances(vae, X):
    batch = torch.as_tensor(X[:64], dtype=torch.float32)
    vae.set_params(beta=0.5)  # past the warm-up: the KL term weighs beta
    with torch.no_grad():
        mean, log_var = vae.encoder_(batch)
        noise = torch.randn(mean.shape, generator=torch.Generator().manual_seed(0))
        decoded = vae.decoder_(mean + torch.exp(0.5 * log_var) * noise)
        # At each feature's optimal variance, its squared residuals sum to one per row.
        variance = (batch - decoded).square().mean(dim=0)
        log_px = -0.5 * (torch.log(2 * math.pi * variance) + 1.0).sum()
        kl = 0.5 * (mean.square() + log_var.exp() - 1.0 - log_var).sum(dim=-1).mean()
        loss = vae._loss(batch, torch.Generator().manual_seed(0), has_missing=False)
    torch.testing.assert_close(loss, -(log_px - 0.5 * kl), rtol=1e-5, atol=1e-5)


def test_kl_warmup_ramps_the_kl_weight_linearly_up_to_beta(monkeypatch):
    weights = []
    elbo = skvae._vae.negative_elbo

    def recording(*args):
        weights.append(args[-1])  # the KL term's weight
        return elbo(*args)

    monkeypatch.setattr(skvae._vae, "negative_elbo", recording)
    X = np.random.RandomState(0).normal(size=(120, 4))
    VAETransformer(kl_warmup_steps=4, beta=2.0, batch_size=40, max_iter=2, random_state=0).fit(X)
    assert weights == [0.5, 1.0, 1.5, 2.0, 2.0, 2.0]  # 3 steps an epoch


def test_kl_warmup_delays_early_stopping(X):
    vae = VAETransformer(
        kl_warmup_steps=40, batch_size=50, max_iter=30, n_iter_no_change=1, tol=1e9, random_state=0
    ).fit(X)
    # 3 batches an epoch: 14 warm-up epochs, then one improving and two that are not.
    assert vae.n_iter_ == 14 + 3
    assert vae._n_steps == 3 * vae.n_iter_
