"""The bounds on log p(x) that a VAE's networks train on: the ELBO, and the importance-weighted
bound of several posterior draws per row.

Each takes a batch's prepared rows and the encoder's q(z|x) and returns the
loss to minimise (minus the bound, its mean over the rows), a bound on the
density of X itself, in X's own units (standardised columns' Jacobian
included, as in the scores and validation scores); the estimator
supplies the decoder, the likelihood and the columns' layout. ``kl_weight``
weighs log p(z) - log q(z | x) in each bound, as beta weighs the ELBO's KL
term.

The codes' Gaussian algebra lives here too: the prior's log-density
(``standard_normal_log_prob``) and a posterior's KL divergence from it
(``gaussian_kl``), which the scores, the imputer's proposals and the robust
detector's training share.
"""

import math

import torch

from ._networks import decode_draws


def standard_normal_log_prob(z):
    """log N(z; 0, I) of codes z (..., n_components), summed over the last axis."""
    return -0.5 * (z.square() + math.log(2 * math.pi)).sum(dim=-1)


def gaussian_kl(mean, log_var, variance=None):
    """KL(N(mean, exp(log_var)) || N(0, 1)) of each code dimension, in closed form; shape of ``mean``.

    ``variance`` defaults to exp(log_var). The ELBO passes the square of the
    standard deviation it draws with, which differs from that in the last
    bits: its fits stay as they were.
    """
    if variance is None:
        variance = log_var.exp()
    return 0.5 * (mean.square() + variance - 1.0 - log_var)


def negative_elbo(vae, x, observed, mean, log_var, generator, kl_weight):
    """Minus the ELBO at one posterior draw per row, with the KL term in closed form.

    The Gaussian's variance is the batch's optimum (``GaussianLikelihood.batch_log_prob``).
    """
    noise = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
    std = torch.exp(0.5 * log_var)
    decoded = vae.decoder_(torch.addcmul(mean, std, noise))
    layout = vae._layout(x.device)
    log_px = vae.likelihood_.batch_log_prob(
        layout.numeric_part(x), layout.numeric_part(decoded), layout.numeric_mask(observed)
    )
    if not layout.all_numeric:
        log_px = log_px + layout.categorical_log_probs(x, decoded).sum(dim=-1).mean()
    # A constant, no gradient: the loss becomes comparable with the validation scores (and with
    # the importance-weighted bound's loss), which are of X itself.
    log_px = log_px + layout.mean_log_jacobian(observed)
    # KL(q(z|x) || N(0, I)), summed over the code and averaged over the rows (NaN for a batch
    # that robust training left empty), weighed in the same op: on small batches each op of a
    # step's graph costs microseconds.
    weighted_kl = gaussian_kl(mean, log_var, std.square()).mean() * (kl_weight * mean.shape[-1])
    return weighted_kl - log_px


def negative_importance_weighted_bound(vae, x, observed, mean, log_var, generator, kl_weight, n_samples):
    """Minus the importance-weighted bound of ``n_samples`` posterior draws per row.

    log (1/K) sum_k p(x_obs | z_k) p(z_k) / q(z_k | x), with K draws z_k
    from q(z | x): tighter than the ELBO as K grows (Burda et al., 2016),
    the bound MIWAE trains an imputer with (Mattei & Frellsen, 2019). The
    Gaussian's variance is the batch's optimum: the mean of the draws'
    squared residuals weighted by their normalised importance weights, the
    weights taken at the running variance
    (``GaussianLikelihood.at_batch_optimum``).
    """
    noise = torch.randn((n_samples, *mean.shape), generator=generator, device=mean.device, dtype=mean.dtype)
    z = torch.addcmul(mean, torch.exp(0.5 * log_var), noise)
    decoded = decode_draws(vae.decoder_, z)
    log_prior_ratio = -0.5 * (z.square() - noise.square() - log_var).sum(dim=-1)  # log p(z) - log q(z|x)
    layout = vae._layout(x.device)
    # The categories' terms do not depend on the variance: computed once for both passes below,
    # they were a fifth of a step's time on a table of six categorical columns.
    categorical = None if layout.all_numeric else layout.categorical_log_probs(x, decoded)
    with torch.no_grad():  # the draws' weights at the running variance, for the batch's optimal one
        log_weights = vae._log_px(x, decoded, observed, True, categorical) + kl_weight * log_prior_ratio
    numeric = layout.numeric_part(x), layout.numeric_part(decoded), layout.numeric_mask(observed)
    with vae.likelihood_.at_batch_optimum(*numeric, torch.softmax(log_weights, dim=0)):
        log_weights = vae._log_px(x, decoded, observed, True, categorical) + kl_weight * log_prior_ratio
    return math.log(n_samples) - torch.logsumexp(log_weights, dim=0).mean()
