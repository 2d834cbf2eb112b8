"""What a detector's decoder still gets wrong on its training rows, as a function of the code.

The robust explanations (``_explanation``) ask which features a row's code
cannot account for. But the detectors train as long as detection needs, not
as long as reconstruction would (the autoencoder's 10 epochs are 50 optimizer
steps of 1,000 rows), and a briefly trained decoder gets intact features
wrong too, by amounts that vary smoothly with the code. A ridge regression
of the training rows' residuals on the code's linear and quadratic terms
takes that systematic part out; the explanations then measure each feature
against the corrected prediction. The scores do not use it.

On the gallery's sensors (3 of 12 broken) the autoencoder's precision@3 rose
from 0.67 to 0.79, and on the ADBench tables of ``bench_explanations.py``
("choose" half) from 0.39-0.45 to 0.52-0.53; the VAE's from 0.48-0.51 to
0.55 there, most of it from measuring each feature in units of its residual
at the code rather than of the likelihood's variance (docs/benchmarks.rst).
"""

import torch

# The ridge, per training row: enough to keep the normal equations well
# conditioned when few rows meet many terms (a code of 12 has 91), little
# enough not to shrink a systematic error that the rows show clearly.
_RIDGE = 1e-3
# Cells of the per-column normal equations built at once (float64: 128 MB).
_GRAM_CELLS = 2**24


def code_terms(z):
    """1, the code and its pairwise products: shape (..., 1 + k + k (k + 1) / 2) for k components."""
    rows, columns = torch.triu_indices(z.shape[-1], z.shape[-1], device=z.device)
    return torch.cat([torch.ones_like(z[..., :1]), z, z[..., rows] * z[..., columns]], dim=-1)


def n_code_terms(n_components):
    return 1 + n_components + n_components * (n_components + 1) // 2


def fit_correction(codes, residuals, observed=None):
    """Weights W, shape (n_terms, n_columns), so that ``code_terms(z) @ W`` predicts the residuals.

    Parameters
    ----------
    codes : tensor of shape (n, n_components)

    residuals : tensor of shape (n, n_columns)
        Observed value minus the decoder's prediction, of each numeric column.

    observed : bool tensor of shape (n, n_columns) or None
        Where a residual exists; each column is then fitted on its own
        observed rows. None: all of them.
    """
    # In float64, each term scaled to unit mean square: codes of extreme rows would otherwise
    # square and multiply their way past float32's range.
    terms = code_terms(codes.double())
    scale = terms.square().mean(dim=0).sqrt().clamp(min=1e-12)
    terms, residuals = terms / scale, residuals.double()
    ridge = _RIDGE * torch.eye(terms.shape[1], dtype=terms.dtype, device=terms.device)
    complete = torch.ones(residuals.shape[1], dtype=torch.bool, device=residuals.device)
    if observed is not None:
        complete = observed.all(dim=0)
    weights = residuals.new_zeros(terms.shape[1], residuals.shape[1])
    if complete.any():
        # The columns observed in every row share one system.
        gram = terms.T @ terms + len(terms) * ridge
        weights[:, complete] = torch.linalg.solve(gram, terms.T @ residuals[:, complete])
    incomplete = torch.nonzero(~complete).flatten()
    if len(incomplete):
        # One system per other column, over its observed rows (a column never observed: weights
        # 0), a block of columns at a time: all at once, one missing cell in 20,000 columns
        # took 4.4 GB.
        n_terms = terms.shape[1]
        products = (terms[:, :, None] * terms[:, None, :]).reshape(len(terms), -1)
        block = max(1, _GRAM_CELLS // n_terms**2)
        for start in range(0, len(incomplete), block):
            columns = incomplete[start : start + block]
            counts = observed[:, columns].to(terms.dtype)
            gram = (counts.T @ products).reshape(-1, n_terms, n_terms)
            gram = gram + counts.sum(0).clamp(min=1)[:, None, None] * ridge
            cells = torch.where(observed[:, columns], residuals[:, columns], 0.0)
            right = (terms.T @ cells).T[..., None]  # (len(columns), n_terms, 1)
            weights[:, columns] = torch.linalg.solve(gram, right)[..., 0].T
    weights = (weights / scale[:, None]).float()
    # Residuals beyond float's range (the rows' own values are): no correction rather than NaN.
    return weights if torch.isfinite(weights).all() else torch.zeros_like(weights)
