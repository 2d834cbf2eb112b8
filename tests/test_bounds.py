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
