"""What a fitted VAE predicts for a row's missing cells from its observed ones (MIWAE).

A row's importance samples z_k = mu + sigma * noise_k from q(z | x_obs),
with self-normalised weights w_k proportional to p(x_obs, z_k) / q(z_k | x_obs),
stand for the posterior p(z | x_obs) (Mattei & Frellsen, ICML 2019). Then

    E[x_miss | x_obs] = sum_k w_k E[x | z_k],

and one draw from p(x_miss | x_obs) picks z_k with probability w_k and draws x
from p(x | z_k). The estimator supplies the weights and the decoder's means;
this module owns the noise they come from and the two predictions.
"""

import torch


def quasi_random_normal(n_samples, n_dims, seed, device):
    """Normal draws, (n_samples, n_dims), from scrambled Sobol points through the normal's quantile.

    They cover the posterior more evenly than random draws, and the
    conditional means come closer to the truth at the same cost
    (breast_cancer, 50% hidden: MSE 0.292 against 0.298 with 100 draws).
    """
    sobol = torch.quasirandom.SobolEngine(n_dims, scramble=True, seed=seed)
    uniform = sobol.draw(n_samples, dtype=torch.float64).clamp(1e-7, 1 - 1e-7)
    return torch.special.ndtri(uniform).float().to(device)


def conditional_means(log_weights, means):
    """E[x | x_obs] of each row, (n, width), from log weights (K, n) and means (K, n, width)."""
    return torch.einsum("kn,knw->nw", torch.softmax(log_weights, dim=0), means)


def conditional_draw(log_weights, means, layout, likelihood, generator):
    """One draw from p(x | x_obs) of each row: a posterior sample by its weight, then x from p(x | z).

    Numeric inputs are drawn from the likelihood the networks train with,
    each categorical block as a one-hot category. Drawn on the CPU, where
    ``generator`` lives: ``layout`` is the columns' layout there.
    """
    weights = torch.softmax(log_weights, dim=0)
    picked = torch.multinomial(weights.T.cpu(), 1, generator=generator).ravel().to(weights.device)
    chosen = means[picked, torch.arange(weights.shape[1], device=weights.device)].cpu()  # (n, width)
    draw = chosen.clone()
    draw[:, layout.numeric] = likelihood.training_sample(layout.numeric_part(chosen), generator)
    for start, size in layout.blocks:
        category = torch.multinomial(chosen[:, start : start + size], 1, generator=generator)
        draw[:, start : start + size] = torch.nn.functional.one_hot(category.ravel(), size).to(draw.dtype)
    return draw.to(means.device)
