"""skvae's computations written as ONNX operators, for the converters of :mod:`skvae.onnx`.

Each function takes skl2onnx's operator namespace ``ops``, a fitted
estimator and the graph's variables, and returns new variables at the
opset ``opv``: the rows as the networks read them (``prepared``), the codes,
and the detectors' scores, each as skvae computes it in float32.
"""

import math

import numpy as np
from torch import nn

from ._column_layout import _REFILL_ROUNDS
from ._likelihoods import BernoulliLikelihood, StudentTLikelihood
from ._networks import LOG_VAR_RANGE
from ._vae import VAETransformer

_ACTIVATIONS = {nn.ReLU: "OnnxRelu", nn.Tanh: "OnnxTanh", nn.Sigmoid: "OnnxSigmoid"}
# onnx.TensorProto's FLOAT and DOUBLE (onnx is imported only when a model is converted).
_FLOAT, _DOUBLE = 1, 11


def _array(tensor):
    return tensor.detach().cpu().numpy().astype(np.float32)


def const(value):
    return np.asarray(value, dtype=np.float32)


def _leaves(module):
    children = list(module.children())
    if not children:
        yield module
    for child in children:
        yield from _leaves(child)


def _linear(ops, x, layer, opv, rows=slice(None)):
    weight = np.ascontiguousarray(_array(layer.weight)[rows].T)
    return ops.OnnxAdd(ops.OnnxMatMul(x, weight, op_version=opv), _array(layer.bias)[rows], op_version=opv)


def _mlp(ops, x, module, opv):
    """The layers of ``module`` applied to ``x`` (any leading dimensions)."""
    for layer in _leaves(module):
        if isinstance(layer, nn.Linear):
            x = _linear(ops, x, layer, opv)
        elif type(layer) in _ACTIVATIONS:
            x = getattr(ops, _ACTIVATIONS[type(layer)])(x, op_version=opv)
        elif not isinstance(layer, nn.Identity):
            raise NotImplementedError(f"skvae.onnx has no ONNX graph for a {type(layer).__name__} layer.")
    return x


def _posterior(ops, x, encoder, opv):
    """Mean and clamped log-variance of q(z|x), as ``GaussianEncoder.forward``."""
    hidden = _mlp(ops, x, encoder.trunk, opv)
    n_components = encoder.head.out_features // 2
    mean = _linear(ops, hidden, encoder.head, opv, slice(None, n_components))
    log_var = _linear(ops, hidden, encoder.head, opv, slice(n_components, None))
    low, high = LOG_VAR_RANGE
    return mean, ops.OnnxClip(log_var, const(low), const(high), op_version=opv)


def _sum_last(ops, x, opv, keepdims=0):
    return ops.OnnxReduceSumApi11(x, axes=[-1], keepdims=keepdims, op_version=opv)


def _standardised(ops, estimator, x, opv):
    """X as the networks read it: with ``standardize``, each column centred and scaled as in fit.

    In float64, as skvae codes X, then float32: a column's mean rounded to
    float32 would shift a column of mean 10,000 and standard deviation 1 by
    up to 5e-4 of a standard deviation.
    """
    table = estimator._table
    if table.is_identity:
        return x
    x = ops.OnnxCast(x, to=_DOUBLE, op_version=opv)
    centred = (
        ops.OnnxSub(x, np.asarray(table.center, dtype=np.float64), op_version=opv) if table.centred else x
    )
    scaled = ops.OnnxDiv(centred, np.asarray(table.scale, dtype=np.float64), op_version=opv)
    return ops.OnnxCast(scaled, to=_FLOAT, op_version=opv)


def codes(ops, estimator, x, opv):
    if isinstance(estimator, VAETransformer):
        return _posterior(ops, x, estimator.encoder_, opv)[0]
    return _mlp(ops, x, estimator.encoder_, opv)


def _reconstruction(ops, estimator, x, opv):
    """The decoder's means at the encoder's code, as skvae's ``_decode(_encoder_mean(x))``."""
    decoded = _mlp(ops, codes(ops, estimator, x, opv), estimator.decoder_, opv)
    if isinstance(getattr(estimator, "likelihood_", None), BernoulliLikelihood):
        return ops.OnnxSigmoid(decoded, op_version=opv)
    return decoded


def prepared(ops, estimator, x, opv, missing_cells=True):
    """The rows as the networks read them, and the mask of observed cells (float32 0 or 1).

    As skvae's ``_prepare``: the columns standardised where the model does
    so; a missing cell at the training mean, and for networks fitted on
    complete rows ``_REFILL_ROUNDS`` times at the model's reconstruction of
    it; observed cells never changed. Without ``missing_cells`` the graph
    reads every cell as observed (the mask is None), and a NaN gives NaN.
    """
    x = _standardised(ops, estimator, x, opv)
    if not missing_cells:
        return x, None
    missing = ops.OnnxIsNaN(x, op_version=opv)
    rows = ops.OnnxWhere(missing, const(estimator._layout("cpu").fill.numpy()), x, op_version=opv)
    observed = ops.OnnxCast(ops.OnnxNot(missing, op_version=opv), to=_FLOAT, op_version=opv)
    if getattr(estimator, "_refills_missing", False):
        rows = _refilled(ops, estimator, rows, missing, observed, opv)
    return rows, observed


def _refilled(ops, estimator, rows, missing, observed, opv):
    """``rows`` whose incomplete ones have their missing cells refilled, ``_REFILL_ROUNDS`` times.

    Only the incomplete rows are gathered and refilled, then scattered back:
    ten rounds of the networks over every row made the graph of a model of
    complete rows ten times slower on complete rows (bench_onnx.py).
    """
    n_missing = ops.OnnxReduceSumApi11(
        ops.OnnxSub(const(1.0), observed, op_version=opv), axes=[1], keepdims=0, op_version=opv
    )
    incomplete = ops.OnnxNonZero(n_missing, op_version=opv)  # (1, m)
    positions = ops.OnnxReshape(incomplete, np.array([-1], dtype=np.int64), op_version=opv)
    subset = ops.OnnxGather(rows, positions, axis=0, op_version=opv)
    subset_missing = ops.OnnxGather(missing, positions, axis=0, op_version=opv)
    for _ in range(_REFILL_ROUNDS):
        refill = _reconstruction(ops, estimator, subset, opv)
        subset = ops.OnnxWhere(subset_missing, refill, subset, op_version=opv)
    indices = ops.OnnxTranspose(incomplete, perm=[1, 0], op_version=opv)  # (m, 1)
    return ops.OnnxScatterND(rows, indices, subset, op_version=opv)


def _sum_observed(ops, terms, observed, opv, keepdims=0):
    """Each row's terms summed over its observed cells (all of them where ``observed`` is None):
    (..., n, d) -> (..., n), or (..., n, 1) with ``keepdims``."""
    if observed is not None:
        terms = ops.OnnxMul(terms, observed, op_version=opv)
    return _sum_last(ops, terms, opv, keepdims)


def reconstruction_score(ops, estimator, x, observed, opv):
    """AutoencoderOutlierDetector: minus the scaled squared errors, their mean over the observed cells
    times the number of columns, as skvae's ``_score_rows``; shape (n, 1)."""
    residuals = ops.OnnxSub(_reconstruction(ops, estimator, x, opv), x, op_version=opv)
    scaled = ops.OnnxDiv(
        ops.OnnxMul(residuals, residuals, op_version=opv),
        const(estimator.reconstruction_scale_),
        op_version=opv,
    )
    total = _sum_observed(ops, scaled, observed, opv, keepdims=1)
    if observed is None:
        return ops.OnnxNeg(total, op_version=opv)
    n_observed = _sum_last(ops, observed, opv, keepdims=1)
    # A row with no observed cell: 0 / 0, NaN, which the label makes an outlier (skvae refuses it).
    per_cell = ops.OnnxDiv(total, n_observed, op_version=opv)
    return ops.OnnxMul(per_cell, const(-float(estimator.n_features_in_)), op_version=opv)


def importance_weighted_score(ops, estimator, x, observed, opv):
    """VAEOutlierDetector: log (1/K) sum_k p(x_obs, z_k) / q(z_k|x) with skvae's fixed noise, plus each
    missing cell's ``column_log_likelihood_``; shape (n, 1).

    z_k = mu + sigma * noise_k for K constant noise rows, decoded all at
    once as a (K, n, d) block. The log(2 pi) terms of log p(z) and log q(z|x)
    cancel and are left out. With ``standardize``, each observed cell's
    log-density is that of the standardised cell minus its column's log
    scale, as in skvae's scores.
    """
    noise = estimator._fixed_noise(estimator._importance_draws(), "cpu").numpy()
    mean, log_var = _posterior(ops, x, estimator.encoder_, opv)
    std = ops.OnnxExp(ops.OnnxMul(log_var, const(0.5), op_version=opv), op_version=opv)
    z = ops.OnnxAdd(mean, ops.OnnxMul(std, const(noise[:, None, :]), op_version=opv), op_version=opv)
    decoded = _mlp(ops, z, estimator.decoder_, opv)
    likelihood = estimator.likelihood_
    if isinstance(likelihood, BernoulliLikelihood):
        # log p(x|z) = x * logit - softplus(logit), BCE-with-logits negated.
        terms = ops.OnnxSub(
            ops.OnnxMul(x, decoded, op_version=opv), ops.OnnxSoftplus(decoded, op_version=opv), op_version=opv
        )
        log_normaliser = np.zeros(estimator.n_features_in_)
    elif isinstance(likelihood, StudentTLikelihood):
        # log p(x_j|z) = log_normaliser_j - (df + 1) / 2 * log(1 + (x_j - decoded_j)^2 / (df * scale_j))
        df = float(likelihood.df)
        scale = likelihood.scale.detach().cpu().numpy().astype(np.float64)
        residuals = ops.OnnxSub(x, decoded, op_version=opv)
        scaled = ops.OnnxMul(residuals, const((df * scale) ** -0.5), op_version=opv)
        squares = ops.OnnxMul(scaled, scaled, op_version=opv)
        log_terms = ops.OnnxLog(ops.OnnxAdd(squares, const(1.0), op_version=opv), op_version=opv)
        terms = ops.OnnxMul(log_terms, const(-(df + 1) / 2), op_version=opv)
        log_normaliser = likelihood.log_normaliser().detach().cpu().numpy().astype(np.float64)
    else:
        variance = likelihood.variance.detach().cpu().numpy().astype(np.float64)
        variance = np.broadcast_to(variance, (estimator.n_features_in_,))
        scaled = ops.OnnxMul(ops.OnnxSub(x, decoded, op_version=opv), const(variance**-0.5), op_version=opv)
        terms = ops.OnnxMul(ops.OnnxMul(scaled, scaled, op_version=opv), const(-0.5), op_version=opv)
        log_normaliser = -0.5 * np.log(2 * math.pi * variance)
    # Each cell's constant: the likelihood's normaliser, less its column's log scale (standardize).
    constants = np.broadcast_to(log_normaliser, (estimator.n_features_in_,)) - np.log(estimator._table.scale)
    log_px = _sum_observed(ops, ops.OnnxAdd(terms, const(constants), op_version=opv), observed, opv)
    # log p(z) - log q(z|x) = -|z|^2 / 2 + |noise|^2 / 2 + sum(log_var) / 2
    log_ratio = ops.OnnxAdd(
        ops.OnnxMul(_sum_last(ops, ops.OnnxMul(z, z, op_version=opv), opv), const(-0.5), op_version=opv),
        ops.OnnxMul(_sum_last(ops, log_var, opv), const(0.5), op_version=opv),
        op_version=opv,
    )
    log_ratio = ops.OnnxAdd(log_ratio, const(0.5 * np.square(noise).sum(axis=1)[:, None]), op_version=opv)
    log_weights = ops.OnnxAdd(log_px, log_ratio, op_version=opv)  # (K, n)
    pooled = ops.OnnxReduceLogSumExpApi18(log_weights, axes=[0], keepdims=1, op_version=opv)
    score = ops.OnnxTranspose(
        ops.OnnxSub(pooled, const(math.log(len(noise))), op_version=opv), perm=[1, 0], op_version=opv
    )
    if observed is None:
        return score
    typical = getattr(estimator, "column_log_likelihood_", None)  # None in models saved before it
    if typical is not None:  # each missing cell counts as a typical one, as in skvae's scores
        missing = ops.OnnxSub(const(1.0), observed, op_version=opv)
        missing_terms = ops.OnnxMatMul(missing, const(np.asarray(typical)[:, None]), op_version=opv)
        score = ops.OnnxAdd(score, missing_terms, op_version=opv)
    # A row with no observed cell: NaN, which the label makes an outlier (skvae refuses it).
    n_observed = _sum_last(ops, observed, opv, keepdims=1)
    empty = ops.OnnxEqual(n_observed, const([0.0]), op_version=opv)
    return ops.OnnxWhere(empty, const([np.nan]), score, op_version=opv)
