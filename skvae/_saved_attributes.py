"""The fitted attributes a skvae file holds: how each is written as JSON, checked and read back.

``_persistence`` owns the file and its networks and columns,
``_saved_params`` the parameters and ``_saved_optimizer`` Adam's state; this
module owns the other fitted attributes. A check that fails raises a
ValueError saying why, which ``load`` reports as an invalid file.
"""

import math
from numbers import Integral

import numpy as np

from ._autoencoder_detector import AutoencoderOutlierDetector
from ._imputer import VAEImputer
from ._missing_values import fitted_indicator
from ._residual_correction import n_code_terms


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_float(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _float_list(value):
    return isinstance(value, list) and all(_is_float(item) for item in value)


def _finite(value):
    return _is_float(value) and math.isfinite(value)


def _finite_list(value, positive=False):
    return _float_list(value) and all(math.isfinite(item) and (item > 0 or not positive) for item in value)


def _count_list(value):
    return isinstance(value, list) and all(_is_int(item) and item >= 0 for item in value)


# A count of epochs or steps that torch's generators can still be seeded with (see _seed).
_MAX_COUNT = np.iinfo(np.int32).max


def _output_config(value):
    """set_output's choices: a container per method."""
    return isinstance(value, dict) and all(
        isinstance(method, str) and container in ("default", "pandas", "polars")
        for method, container in value.items()
    )


def _int_list_or_none(value):
    return value is None or (isinstance(value, list) and all(_is_int(item) for item in value))


# The fitted attributes a file may hold (besides the networks): a check of
# each JSON value, and how to turn it back into the attribute.
ATTRIBUTES = {
    "n_features_in_": (lambda v: _is_int(v) and v > 0, int),
    "feature_names_in_": (
        lambda v: isinstance(v, list) and all(isinstance(item, str) for item in v),
        lambda v: np.asarray(v, dtype=object),
    ),
    "n_iter_": (lambda v: _is_int(v) and 0 <= v < _MAX_COUNT, int),
    "n_components_": (lambda v: _is_int(v) and v > 0, int),
    "loss_curve_": (_float_list, lambda v: [float(item) for item in v]),
    "validation_scores_": (_float_list, lambda v: [float(item) for item in v]),
    "best_validation_score_": (_is_float, float),
    "offset_": (_finite, float),
    "reconstruction_scale_": (
        lambda v: _finite_list(v, positive=True),
        lambda v: np.asarray(v, dtype=np.float64),
    ),
    "column_log_likelihood_": (_finite_list, lambda v: np.asarray(v, dtype=np.float64)),
    # The detectors' count of each column's observed training cells, and of those that held a
    # label the columns do not list (files before them: neither, and a category not seen in fit
    # is read as missing, as then).
    "n_samples_seen_": (_count_list, lambda v: np.asarray(v, dtype=np.int64)),
    "_n_unlisted_seen": (_count_list, lambda v: np.asarray(v, dtype=np.int64)),
    "_anchor_codes": (
        lambda v: isinstance(v, list) and all(_float_list(row) for row in v),
        lambda v: np.asarray(v, dtype=np.float32),
    ),
    # The robust explanations' correction of the decoder (None for a Bernoulli likelihood).
    "_residual_weights": (
        lambda v: v is None or (isinstance(v, list) and all(_float_list(row) for row in v)),
        lambda v: None if v is None else np.asarray(v, dtype=np.float32),
    ),
    "_surprise_divisor": (
        lambda v: v is None or _float_list(v),
        lambda v: None if v is None else np.asarray(v, dtype=np.float32),
    ),
    # Fit draws it in [0, 2**31 - 1) (see _initialize); numpy and torch are seeded from it, so a
    # seed out of their range would load, then fail in partial_fit.
    "_seed": (lambda v: _is_int(v) and 0 <= v < np.iinfo(np.int32).max, int),
    "_n_steps": (lambda v: _is_int(v) and 0 <= v < _MAX_COUNT, int),
    # Whether the networks trained on complete rows only, and so read missing cells refilled (files
    # from before it: no refill, as then).
    "_refills_missing": (lambda v: isinstance(v, bool), bool),
    # How many rows the calibration after training read (see _stream_sample.recalibrates).
    "_n_calibration_rows": (lambda v: _is_int(v) and v >= 0, int),
    # VAEImputer's: the columns its MissingIndicator marks (rebuilt in load), and the
    # posterior draws made so far (the next transform with sample_posterior draws anew).
    "indicator_": (_int_list_or_none, lambda v: v),
    "_n_draws": (lambda v: _is_int(v) and v >= 0, int),
    "n_importance_samples_": (lambda v: _is_int(v) and v > 0, int),
    "_sklearn_output_config": (_output_config, dict),
}
_REQUIRED = ("n_features_in_", "n_iter_", "loss_curve_", "_seed", "_n_steps")


def to_json(name, value):
    """The attribute ``name`` as a JSON value."""
    if name == "indicator_":
        return None if value is None else [int(j) for j in value.features_]
    return value.tolist() if isinstance(value, np.ndarray) else value


def set_attributes(estimator, attributes):
    """Set the file's attributes (a dict of JSON values) on a new estimator, checking each."""
    for name, value in attributes.items():
        if name not in ATTRIBUTES:
            raise ValueError(f"unknown attribute {name!r}")
        is_valid, convert = ATTRIBUTES[name]
        if not is_valid(value):
            raise ValueError(f"invalid value for {name}")
        setattr(estimator, name, convert(value))
    if "n_components_" not in attributes and isinstance(estimator.n_components, Integral):
        # Files written before n_components="auto" hold no n_components_: it was n_components. A
        # file that holds it may differ from the parameter, set after fit (see _saved_architecture).
        estimator.n_components_ = int(estimator.n_components)
    required = _REQUIRED + ("n_components_",)
    required += ("offset_",) if hasattr(estimator, "decision_function") else ()
    required += ("reconstruction_scale_",) if type(estimator) is AutoencoderOutlierDetector else ()
    required += ("indicator_", "_n_draws") if type(estimator) is VAEImputer else ()
    # Files from before n_importance_samples="auto" hold an integer parameter and no attribute.
    required += (
        ("n_importance_samples_",) if getattr(estimator, "n_importance_samples", None) == "auto" else ()
    )
    missing = [name for name in required if name not in vars(estimator)]
    if missing:
        raise ValueError(f"missing attributes {missing}")


def check_against_columns(estimator, attributes):
    """Once the estimator has its columns: the attributes sized by them, and the objects rebuilt."""
    n_features = estimator.n_features_in_
    sized = (
        "feature_names_in_",
        "reconstruction_scale_",
        "column_log_likelihood_",
        "n_samples_seen_",
        "_n_unlisted_seen",
    )
    for name in sized:
        if name in attributes and len(attributes[name]) != n_features:
            raise ValueError(f"{name} has {len(attributes[name])} entries for {n_features} features")
    if ("n_samples_seen_" in attributes) != ("_n_unlisted_seen" in attributes):
        raise ValueError("n_samples_seen_ and _n_unlisted_seen come together")
    if "n_samples_seen_" in attributes and (estimator._n_unlisted_seen > estimator.n_samples_seen_).any():
        raise ValueError("_n_unlisted_seen counts more cells than n_samples_seen_")
    if type(estimator) is VAEImputer:
        estimator.indicator_ = _indicator(estimator, n_features)
    _check_anchor_codes(estimator)
    _check_residual_correction(estimator, n_features)


def _indicator(imputer, n_features):
    """VAEImputer's MissingIndicator, from the columns it marks.

    Whether there is one was decided at fit: ``add_indicator`` may have been set anew since.
    """
    features = imputer.indicator_
    if features is None:
        return None
    if features != sorted(set(features)) or not all(0 <= j < n_features for j in features):
        raise ValueError(f"indicator_ marks columns {features} of {n_features}")
    missing = np.zeros((1, n_features), dtype=bool)
    missing[0, features] = True
    return fitted_indicator(missing)


def _check_anchor_codes(estimator):
    """The robust explanations' starting codes: rows of the code size (files before them hold none)."""
    anchors = getattr(estimator, "_anchor_codes", None)
    if anchors is not None and (
        anchors.ndim != 2 or not anchors.size or anchors.shape[1] != estimator.n_components_
    ):
        raise ValueError(
            f"_anchor_codes holds {anchors.shape}, expected (n_anchors, {estimator.n_components_})"
        )
    if anchors is not None and not np.isfinite(anchors).all():
        raise ValueError("_anchor_codes holds non-finite codes")


def _check_residual_correction(estimator, n_features):
    weights = getattr(estimator, "_residual_weights", None)
    divisor = getattr(estimator, "_surprise_divisor", None)
    if (weights is None) != (divisor is None):
        raise ValueError("_residual_weights and _surprise_divisor come together")
    if weights is None:
        return
    shape = (n_code_terms(estimator.n_components_), len(estimator._table.numeric))
    if weights.shape != shape or divisor.shape != (n_features,):
        raise ValueError(
            f"the residual correction holds {weights.shape} and {divisor.shape}, expected {shape} and "
            f"({n_features},)"
        )
    if not np.isfinite(weights).all() or not (np.isfinite(divisor) & (divisor > 0)).all():
        raise ValueError("the residual correction holds non-finite weights or divisors that are not positive")
