"""The VAE's likelihood after training, fitted to all the training rows.

Training ends with the variance of the last batches (each batch's optimum,
``GaussianLikelihood.batch_log_prob``). After it, the variance that maximises
the ELBO on all the training rows takes its place, per column or shared; a
Student-t's scales (``likelihood="student_t"``) are then fitted by EM to the
same residuals. Both read each row's squared residual at one posterior draw,
the draws balanced over the rows (``balanced_noise``) so that their mean is
the ELBO's expectation E_q[(x - decoded)^2].
"""

from functools import partial

import numpy as np
import torch

from ._column_statistics import evenly_spaced_rows
from ._likelihoods import BernoulliLikelihood, StudentTLikelihood
from ._tensors import nan_where_missing

# EM steps that fit a Student-t's scales after training, from the running ones. After 20,
# most scales are within 0.05% of where 200 steps take them; a column that almost every
# row reconstructs exactly (binary ones of InternetAds and campaign) keeps shrinking
# slowly, with no effect on the ranking (ROC-AUC within 0.001).
_EM_STEPS = 20
# ... on the squared residuals of at most this many cells (16 MB of float32): over 2,000
# rows up to 2,000 columns. With 2**25 cells, the EM took 3.9 of an 11 CPU s fit of
# 7,000 x 2,000.
_EM_CELLS = 2**22


def calibrate_likelihood(vae, X):
    """Set ``vae.likelihood_``'s variances, and a Student-t's scales, from the coded training rows X."""
    likelihood = vae.likelihood_
    if not isinstance(likelihood, BernoulliLikelihood):
        variance, counts = vae._column_means(partial(squared_residuals, vae), X, return_counts=True)
        if likelihood.shared:
            # Every observed cell's squared residual counts once, as in training: a column with
            # fewer observed cells weighs less, and one with none (an imputer keeps it) nothing.
            # With no cell observed (a table of categories, or of empty numeric columns) the
            # variance of training stays, there being nothing to score with it.
            variance = (variance * counts).sum() / counts.sum() if counts.sum() else None
        if variance is not None:
            variance = np.maximum(variance, likelihood.min_variance)
            likelihood.variance.copy_(torch.from_numpy(np.asarray(variance)).reshape(-1))
    if isinstance(likelihood, StudentTLikelihood):
        _fit_student_t_scale(vae, X)


def _fit_student_t_scale(vae, X):
    """The Student-t's maximum-likelihood scales on the training rows: EM from the running ones.

    The squared residuals are computed once and held in memory (of at most
    ``_EM_CELLS`` cells: evenly spaced rows beyond), so that each EM step
    costs no pass through the networks.
    """
    numeric = vae._table.numeric_positions
    if len(numeric) == 0:
        return  # an all-categorical table: no scale to fit
    rows = evenly_spaced_rows(X.shape[0], max(1, _EM_CELLS // len(numeric)))
    squares = vae._map_rows(
        lambda rows: nan_where_missing(*squared_residuals(vae, rows)), X[rows], allow_nan=True
    )
    # Column-major, each column's rows side by side: the EM's sums over the rows then add in
    # the order the scales were always fitted in, to the last bit.
    squares = torch.from_numpy(np.asfortranarray(squares)).to(vae.likelihood_.scale)
    # Missing cells weigh nothing.
    missing = torch.isnan(squares)
    observed = ~missing if missing.any() else None
    squares = squares.nan_to_num(0.0)
    for _ in range(_EM_STEPS):
        vae.likelihood_.em_step(squares, observed)


def squared_residuals(vae, X):
    """(x - decoded)^2 of each numeric column at one posterior draw per row of the coded rows X,
    (n, n_numeric), and the numeric columns' observed mask (None when all are observed).

    Averaged over rows, E_q[(x - decoded)^2]: what the ELBO's optimal
    variance needs. The draws are the balanced noise vectors taken in turn,
    row after row, so that every row sees each latent dimension's spread
    exactly once (entries +-1) and the cross terms cancel over the rows. One
    draw shared by every row counted each dimension eps_m^2 times instead
    (0.1 to 5 times on a linear-Gaussian model); the average over all
    vectors for every row cost 4 to 16 decodings per row, two seconds of a
    wide fit.
    """
    x, observed = vae._prepare(X)
    mean, log_var = vae.encoder_(x)
    noise = balanced_noise(vae.n_components_).to(x)
    noise = noise[torch.arange(x.shape[0], device=x.device) % len(noise)]
    decoded = vae.decoder_(mean + torch.exp(0.5 * log_var) * noise)
    layout = vae._layout(x.device)
    residuals = (layout.numeric_part(x) - layout.numeric_part(decoded)).square()
    return residuals, layout.numeric_mask(observed)


def balanced_noise(n_components):
    """Noise vectors of +-1 whose mean is 0 and whose outer products average to the identity
    exactly: columns 1 to n_components of a Sylvester-Hadamard matrix, one vector per row
    (the next power of two above n_components of them)."""
    hadamard = torch.ones(1, 1, device="cpu")
    while hadamard.shape[0] <= n_components:
        hadamard = torch.cat([torch.cat([hadamard, hadamard], 1), torch.cat([hadamard, -hadamard], 1)])
    return hadamard[:, 1 : n_components + 1]
