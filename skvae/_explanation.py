"""Which features make a row abnormal: robust re-encoding and leave-one-out residuals.

A detector's own reconstruction spreads the blame: a broken feature moves
the row's code, and features that are fine are then reconstructed wrongly
too. Here the code is found again by a robust fit, the code whose decoding
agrees with as many features as it can, a feature that disagrees costing at
most ``c`` (Welsch's loss):

    z* = argmin_z  sum_j c (1 - exp(-s_j(z) / c))  +  sum_m precision_m (z_m - center_m)^2,

where ``s_j(z)`` is feature j's *surprise* -- its squared reconstruction
error in units of its typical error on the training rows (0 where a cell is
missing) -- and ``c`` the surprise beyond which a feature counts as broken
rather than badly fitted. The objective has local minima (a code that fits
the broken features and not the others is one), so the fit starts from the
encoder's code and from the training codes whose decodings fit the row best,
and keeps the best end point.

Even a robust fit leans on the features it keeps: a feature that pins the
code down is fitted too well by a fit that includes it. Linearised around
z*, the fit is a weighted least-squares problem, and regression's
leave-one-out identities give each feature's residual from the fit without
it, and that prediction's spread, at the cost of one Jacobian. The returned
surprise is that residual squared over its spread.

The codes' prior in the fit can be where the training codes lie
(``anchor_density``: a kernel density of them) rather than a Gaussian. A broken row's wrong codes
are mostly codes no training row has -- the decoder, asked for codes off the
surface the training codes cover, makes up combinations of values that fit
the broken features -- and a Gaussian over the codes' whole range does not
tell them from the right ones, which can lie in its tails.

The detectors supply the model as a ``surprise`` function of the code (their
decoder corrected as ``_residual_correction`` says); this module owns the
search only.
"""

import math

import torch

# Welsch's loss c (1 - exp(-s/c)) is the squared error for s << c and levels
# off beyond. Chosen on the gallery's sensors and the "choose" half of the
# ADBench sets (benchmarks/bench_explanations.py): c = 4 to 6 beat 1, 2 and 9,
# and Welsch's loss beat c log(1 + s/c) and Geman-McClure's by 0.01 to 0.04
# of precision.
_BREAKING_SURPRISE = 6.0
# Adam's steps on the codes, in units of the codes' spread: more steps or
# smaller ones changed the sensors' precision by less than 0.01.
_N_STEPS = 100
_LEARNING_RATE = 0.05
# The encoder's code and the three best-fitting training codes.
_N_STARTS = 4
# The kernel density of the anchors (anchor_density): a Gaussian kernel, per code dimension
# 0.8 times Scott's bandwidth (n^(-1/(k+4)) of the anchors' spread: 0.4 of it for 256 codes of 4).
# Chosen on the sensors and the "choose" half of the ADBench sets (bench_explanations.py, the VAE):
# 0.6, 0.8 and 1 gave 3 of 12 sensors 0.87, 0.87, 0.87 and 5 of 12 0.72, 0.71, 0.69 against the
# N(0, I) prior's 0.85 and 0.65 (seeds 0-9), and the ADBench sets 0.56-0.57 at each k against 0.56;
# 0.6 lost 0.01 at 1 of 12 (0.878 against 0.884). Below e^-50 of the nearest anchor's, an anchor's
# kernel counts as e^-50: smaller terms would underflow to denormal floats, slow on CPUs.
_BANDWIDTH = 0.8
_KERNEL_FLOOR = -50.0
# Cells (rows x features) decoded at once when the anchors are tried against the rows, and
# rows explained at once (the search decodes _N_STARTS codes of each).
_CELLS_AT_ONCE = 2**22


def chunk_rows(n_features):
    """How many rows to explain at once: the search's memory grows with rows x features."""
    return max(64, min(8192, _CELLS_AT_ONCE // (_N_STARTS * max(n_features, 1))))


def robust_surprise(surprise, start, anchors=None, *, prior=None, anchor_density=False):
    """Each feature's leave-one-out surprise at the row's robust code.

    Parameters
    ----------
    surprise : callable
        ``surprise(z)`` maps codes of shape (..., n, n_components) to each
        feature's surprise, shape (..., n, n_features): nonnegative, about 1
        on typical training cells, 0 where a cell is missing. Differentiable.

    start : tensor of shape (n, n_components)
        The encoder's code of each row.

    anchors : tensor of shape (n_anchors, n_components) or None
        Codes of training rows: other starting points, and the codes' spread.

    prior : (tensor, tensor) or None
        ``(center, precision)``, each of shape (n_components,): the penalty
        ``sum_m precision_m (z_m - center_m)^2`` keeps the codes where the
        training codes are (a N(0, I) prior in units of twice the nats is
        ``(0, 1)``); None for none.

    anchor_density : bool
        Whether the robust fit's penalty is rather minus twice the log of a
        kernel density of the anchors (at least two of them), which keeps
        the codes near those of training rows. The leave-one-out spread
        still takes ``prior``'s precision.

    Returns
    -------
    surprise : tensor of shape (n, n_features)
    """
    if prior is None:
        prior = (torch.zeros_like(start[0]), torch.zeros_like(start[0]))
    density, fit_prior = None, prior
    if anchor_density and anchors is not None and len(anchors) > 1:
        # Built outside inference mode: the search differentiates through it.
        with torch.inference_mode(False):
            density = _AnchorDensity(anchors.clone())
        fit_prior = (prior[0], torch.zeros_like(prior[1]))
    codes = _robust_codes(surprise, start, anchors, fit_prior, density)
    # The spread with the Gaussian's precision, not the density's curvature (0 at its
    # ridges): a code dimension that only the feature left out pins would otherwise be
    # free, and the feature's prediction infinitely spread.
    return _leave_one_out(surprise, codes, prior[1])


def anchor_spread(anchors):
    """Each code dimension's standard deviation over the anchors, at least a hundredth of the widest's.

    The floor is relative: an absolute one outran the codes of data on a 1e-6 scale, given
    unscaled, whose every dimension may be tiny.
    """
    spread = anchors.std(dim=0)
    return spread.clamp(min=1e-2 * float(spread.max()) or 1e-2)


class _AnchorDensity:
    """-2 log of a Gaussian kernel density of the anchors: ``energy(z)``, shape (...,) for z (..., k).

    In units of twice the nats, as the surprises, and up to a constant. Each
    code dimension is scaled by the anchors' spread times Scott's bandwidth.
    """

    def __init__(self, anchors):
        k = anchors.shape[-1]
        self.scale = anchor_spread(anchors) * (_BANDWIDTH * len(anchors) ** (-1.0 / (k + 4)))
        self.anchors = anchors / self.scale
        self.half_norms = 0.5 * self.anchors.square().sum(dim=-1)

    def __call__(self, z):
        return _KernelEnergy.apply(z / self.scale, self.anchors, self.half_norms)


class _KernelEnergy(torch.autograd.Function):
    """-2 log mean_i exp(-|u - a_i|^2 / 2) and its gradient 2 (u - sum_i w_i a_i), with w the
    kernels' shares: one matrix product each way. Through autograd's logsumexp the search
    took twice as long (256 anchors)."""

    @staticmethod
    def forward(ctx, u, anchors, half_norms):
        logits = u @ anchors.T - half_norms  # -|u - a_i|^2 / 2, plus |u|^2 / 2
        top = logits.amax(dim=-1, keepdim=True)
        shares = torch.exp((logits - top).clamp(min=_KERNEL_FLOOR))
        total = shares.sum(dim=-1, keepdim=True)
        ctx.save_for_backward(u, anchors, shares / total)
        log_mean = (top + total.log())[..., 0] - 0.5 * u.square().sum(dim=-1) - math.log(len(anchors))
        return -2.0 * log_mean

    @staticmethod
    def backward(ctx, grad):
        u, anchors, shares = ctx.saved_tensors
        return 2.0 * grad[..., None] * (u - shares @ anchors), None, None


def _rho(s):
    """The robust loss of a surprise."""
    return _BREAKING_SURPRISE * -torch.expm1(-s / _BREAKING_SURPRISE)


def _weight(s):
    """d rho / d s: the weight of a feature in the robust fit."""
    return torch.exp(-s / _BREAKING_SURPRISE)


def _robust_loss(surprise, prior, density=None):
    center, precision = prior

    def loss(z):
        value = _rho(surprise(z)).sum(dim=-1)
        value = value + ((z - center).square() * precision).sum(dim=-1)
        return value if density is None else value + density(z)

    return loss


def _robust_codes(surprise, start, anchors, prior, density=None):
    loss = _robust_loss(surprise, prior, density)
    starts, scale = [start], torch.ones_like(start[0])
    if anchors is not None and len(anchors) > 1:
        # One step size for every code dimension, whatever its spread.
        scale = anchor_spread(anchors)
        # Each anchor against each row, a few anchors at a time: all at once would decode
        # n_anchors x n rows (gigabytes for a chunk of 8,192 rows of a few hundred features).
        width = surprise(start).shape[-1]
        if density is not None:
            width = max(width, len(density.anchors))  # each code meets every anchor
        group = max(1, _CELLS_AT_ONCE // (start.shape[0] * width))
        anchor_loss = torch.cat(
            [
                loss(anchors[first : first + group, None, :].expand(-1, start.shape[0], -1))
                for first in range(0, len(anchors), group)
            ]
        )  # (n_anchors, n)
        best = anchor_loss.topk(min(_N_STARTS - 1, len(anchors)), dim=0, largest=False).indices
        starts += list(anchors[best])
    # Called under inference mode (see map_rows): the search leaves it, and
    # works on ordinary copies of the tensors it differentiates through.
    with torch.inference_mode(False), torch.enable_grad():
        scale = scale.clone()
        loss = _robust_loss(surprise, [t.clone() for t in prior], density)
        u = (torch.stack(starts) / scale).requires_grad_(True)  # (n_starts, n, n_components)
        optimizer = torch.optim.Adam([u], lr=_LEARNING_RATE)
        for _ in range(_N_STEPS):
            optimizer.zero_grad(set_to_none=True)
            # Each row's loss is its own: one sum optimises them all at once.
            loss(u * scale).sum().backward()
            optimizer.step()
        z = (u * scale).detach()
    best = loss(z).argmin(dim=0)  # (n,)
    return z[best, torch.arange(z.shape[1], device=z.device)]


def _leave_one_out(surprise, codes, prior_precision):
    """Each feature's squared residual from the fit without it, over that prediction's spread.

    Residuals ``e_j = sqrt(s_j)`` with gradients ``A_j``, weights of the
    robust loss ``w_j = exp(-s_j / c)``, the Gauss-Newton matrix
    ``H = sum_j w_j A_j A_j' + diag(prior_precision)``, ``a_j = A_j' H^-1 A_j``
    and the leverage ``h_j = w_j a_j``: the residual without feature j is
    ``e_j / (1 - h_j)`` and its spread ``1 + a_j / (1 - h_j)``.
    """
    n_components = codes.shape[-1]
    with torch.inference_mode(False), torch.enable_grad():
        z = codes.clone().requires_grad_(True)
        # The 1e-12 keeps the gradient of a missing cell's (zero) residual at 0.
        residuals = torch.sqrt(surprise(z) + 1e-12)
        # Jacobian-vector products by differentiating twice (torch.func's forward
        # mode keeps global state, and the estimators may be used from several
        # threads at once): g(v) = J' v is linear in v, and d<g(v), e_m>/dv = J e_m.
        v = torch.zeros_like(residuals, requires_grad=True)
        (g,) = torch.autograd.grad(residuals, z, grad_outputs=v, create_graph=True)
        columns = [
            torch.autograd.grad(g[:, m].sum(), v, retain_graph=m < n_components - 1)[0]
            for m in range(n_components)
        ]
    A = torch.stack(columns, dim=-1)  # (n, n_features, n_components)
    s = surprise(codes)
    w = _weight(s)
    H = torch.einsum("nd,ndk,ndl->nkl", w, A, A)
    # A small ridge keeps H invertible where the features do not pin every code dimension.
    ridge = 1e-6 * H.diagonal(dim1=-2, dim2=-1).mean(dim=-1).clamp(min=1e-6)
    H = H + torch.diag_embed(prior_precision + ridge[:, None])
    a = (A * torch.linalg.solve(H, A.transpose(1, 2)).transpose(1, 2)).sum(dim=-1)
    h = (w * a).clamp(max=0.99)
    return s / ((1 - h) * (1 - h + a))
