"""_bounds: the ELBO and the importance-weighted bound that a VAE's networks train on."""

import numpy as np
import torch

from skvae import VAETransformer
from skvae._bounds import negative_importance_weighted_bound


def fitted_vae():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 2)) @ rng.normal(size=(2, 5)) + 0.1 * rng.normal(size=(300, 5))
    vae = VAETransformer(n_components=2, max_iter=20, random_state=0).fit(X)
    x = torch.as_tensor(vae._validate_X(X[:100], reset=False), dtype=torch.float32)
    vae.likelihood_.momentum = 0.0  # the running variance stays where training left it
    return vae, x


def mean_loss(vae, x, n_draws):
    with torch.no_grad():
        mean, log_var = vae.encoder_(x)
        losses = [
            negative_importance_weighted_bound(
                vae, x, None, mean, log_var, torch.Generator().manual_seed(seed), 1.0, n_draws
            )
            for seed in range(40)
        ]
    return torch.stack(losses).mean().item()


def test_the_importance_weighted_bound_tightens_with_more_draws():
    # Burda et al. (2016): E[log mean of K weights] rises with K toward log p(x).
    vae, x = fitted_vae()
    one, four, sixteen = (mean_loss(vae, x, k) for k in (1, 4, 16))
    assert one > four > sixteen


def test_the_elbo_loss_is_in_x_units_as_the_validation_scores_are():
    # Standardising hides X's scale from the networks, not from the loss: scaling X by 100 adds
    # log(100) nats per observed cell to a row's -log p(x), in the loss as in the scores.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 2)) @ rng.normal(size=(2, 5)) + 0.1 * rng.normal(size=(200, 5))
    X *= [1, 10, 100, 1000, 0.1]

    def fit(X, **params):
        return VAETransformer(n_components=2, max_iter=15, standardize=True, random_state=0, **params).fit(X)

    small, large = fit(X, early_stopping=True), fit(100 * X, early_stopping=True)
    shift = X.shape[1] * np.log(100)
    np.testing.assert_allclose(np.subtract(large.loss_curve_, small.loss_curve_), shift, atol=1e-3)
    validation_shift = np.subtract(small.validation_scores_, large.validation_scores_)
    np.testing.assert_allclose(validation_shift, shift, atol=1e-3)
    # The loss and the held-out rows' ELBO on one scale: they were 11 nats (the log scales) apart.
    assert abs(small.loss_curve_[-1] + small.validation_scores_[-1]) < 2

    X[rng.rand(*X.shape) < 0.2] = np.nan
    small, large = fit(X), fit(100 * X)
    shift = np.log(100) * (~np.isnan(X)).sum() / len(X)  # a missing cell has no density to scale
    np.testing.assert_allclose(np.subtract(large.loss_curve_, small.loss_curve_), shift, atol=1e-3)
