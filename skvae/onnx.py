"""Export to ONNX: skvae's converters for skl2onnx, and :func:`to_onnx` for pipelines holding them.

Needs the ``onnx`` extra (``pip install 'skvae[onnx]'``: onnx, skl2onnx and
onnxruntime). The graphs compute in float32, as skvae does:
:class:`~skvae.AutoencoderTransformer` and :class:`~skvae.VAETransformer`
output their codes (the VAE's posterior mean); the detectors output
``label`` (+1 inlier, -1 outlier) and ``scores`` (``decision_function``),
each of shape (n_samples, 1), as skl2onnx's IsolationForest does. The VAE
detector's score is an importance-weighted estimate with fixed noise; that
noise is a constant of the graph, so the exported score is skvae's. NaN
marks a missing cell, which the graphs fill and score as skvae does.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from . import _onnx_graphs as graphs
from ._autoencoder import AutoencoderTransformer
from ._autoencoder_detector import AutoencoderOutlierDetector
from ._imputer import VAEImputer
from ._vae import VAETransformer
from ._vae_detector import VAEOutlierDetector

__all__ = ["register_converters", "to_onnx"]

# Clip takes its bounds as inputs from opset 11 on.
_MIN_OPSET = 11
# Conversion options (skl2onnx's ``options``), the first value the default. missing_cells=False
# leaves the handling of NaN out of the graph: on complete rows it answers one row in a fifth to a
# third of the time (0.02 against 0.09 ms for an autoencoder), and up to 1.4 times as many rows a
# second (bench_onnx.py); a NaN then gives a NaN score.
_OPTIONS = {"missing_cells": [True, False]}
# What the graphs implement. A fitted attribute outside this set (an input
# layer that standardises or fills in values, say) is refused, never dropped.
_EXPORTED_ATTRIBUTES = {
    "encoder_",
    "decoder_",
    "likelihood_",
    "offset_",
    "reconstruction_scale_",
    "column_log_likelihood_",  # what each missing cell adds to a row's score
    "n_samples_seen_",  # counts for categories not seen in fit: export refuses categorical columns
    "n_features_in_",
    "feature_names_in_",
    "n_components_",
    "n_iter_",
    "loss_curve_",
    "validation_scores_",
    "best_validation_score_",
}


def _skl2onnx():
    try:
        import skl2onnx
        from skl2onnx.algebra import onnx_ops
    except ImportError as exc:
        raise ImportError(
            "skvae.onnx needs onnx and skl2onnx: pip install 'skvae[onnx]' (onnxruntime runs the graphs)."
        ) from exc
    return skl2onnx, onnx_ops


def to_onnx(model, X, *, target_opset=None, options=None):
    """Convert a skvae estimator, or a Pipeline or ColumnTransformer holding some, to ONNX.

    Registers skvae's converters with skl2onnx (:func:`register_converters`)
    and calls :func:`skl2onnx.to_onnx`.

    Parameters
    ----------
    model : estimator
        A fitted skvae estimator, or a fitted scikit-learn composite whose
        other steps skl2onnx converts.

    X : ndarray or DataFrame
        A few input rows, from which skl2onnx reads the input's type and
        width. Arrays, and a DataFrame's float64 columns, are cast to
        float32, the precision the graph computes in: feed the graph float32.
        skl2onnx makes an input of each column of a DataFrame, which a skvae
        estimator refuses unless a step before it takes them: give an array
        of the width the model was fitted on.

    target_opset : int, default=None
        The ONNX opset, 11 or later; None lets skl2onnx choose its latest tested one.

    options : dict, default=None
        skl2onnx's conversion options, such as
        ``{LogisticRegression: {"zipmap": False}}`` for probabilities as one
        array rather than a list of dicts. skvae's four estimators take
        ``"missing_cells"`` (default True: the graph fills and scores NaN
        cells as skvae does); ``{VAEOutlierDetector: {"missing_cells":
        False}}`` leaves that out, for rows known to be complete: one row
        is then answered in a fifth to a third of the time, and a NaN gives a
        NaN score (a detector labels it -1).

    Returns
    -------
    onnx_model : onnx.ModelProto
        The graph. Its input is named ``X``; a pipeline ending with a
        transformer outputs ``variable`` (the codes), one ending with a
        detector ``label`` and ``scores``, one ending with a classifier
        ``label`` and ``probabilities`` with ``{"zipmap": False}`` (else
        skl2onnx's ``output_label`` and ``output_probability``).

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skvae import AutoencoderTransformer
    >>> from skvae.onnx import to_onnx
    >>> X = np.random.RandomState(0).normal(size=(100, 5)).astype(np.float32)
    >>> model = make_pipeline(StandardScaler(), AutoencoderTransformer(max_iter=5, random_state=0)).fit(X)
    >>> session = onnxruntime.InferenceSession(to_onnx(model, X[:1]).SerializeToString())
    >>> codes = session.run(None, {"X": X})[0]
    >>> bool(np.allclose(codes, model.transform(X), atol=1e-4))
    True
    """
    skl2onnx, _ = _skl2onnx()
    register_converters()
    if isinstance(X, np.ndarray):
        X = X.astype(np.float32, copy=False)
    elif hasattr(X, "dtypes") and hasattr(X, "astype"):  # a pandas DataFrame: an input per column
        X = X.astype({name: np.float32 for name, dtype in X.dtypes.items() if dtype == np.float64})
    return skl2onnx.to_onnx(model, X, target_opset=target_opset, options=options)


def register_converters():
    """Tell skl2onnx how to convert the four skvae estimators (called by :func:`to_onnx`).

    VAEImputer is registered too, so that a model holding one is refused in
    skvae's words rather than skl2onnx's.
    """
    skl2onnx, _ = _skl2onnx()
    for cls in (AutoencoderTransformer, VAETransformer):
        skl2onnx.update_registered_converter(
            cls, f"Skvae{cls.__name__}", _transformer_shapes, _convert_transformer, options=_OPTIONS
        )
    for cls in (AutoencoderOutlierDetector, VAEOutlierDetector):
        skl2onnx.update_registered_converter(
            cls, f"Skvae{cls.__name__}", _detector_shapes, _convert_detector, options=_OPTIONS
        )
    skl2onnx.update_registered_converter(VAEImputer, "SkvaeVAEImputer", _imputer_shapes, _convert_imputer)


def _imputer_shapes(operator):
    _refuse_imputer()


def _convert_imputer(scope, operator, container):
    _refuse_imputer()


def _refuse_imputer():
    raise NotImplementedError(
        "skvae.onnx exports no VAEImputer: its imputations weigh hundreds of posterior draws per row, "
        "which no graph here computes. Keep the imputer in Python (skvae.save, skops or pickle), or "
        "export the rest of the pipeline after it."
    )


# -- shapes ----------------------------------------------------------------------


def _check_exportable(estimator):
    """NotImplementedError for what no graph here computes: told first, since no input would do."""
    check_is_fitted(estimator)
    unsupported = sorted(
        name
        for name in vars(estimator)
        if name.endswith("_") and not name.startswith("_") and name not in _EXPORTED_ATTRIBUTES
    )
    if estimator._table.categorical:
        unsupported.append("categorical columns (the table's columns)")
    if unsupported:
        raise NotImplementedError(
            f"skvae.onnx cannot export this {type(estimator).__name__}: its fitted {unsupported} "
            "has no ONNX implementation. Export models fitted on numeric columns: a OneHotEncoder in "
            "front of the categorical ones, in a Pipeline or ColumnTransformer, is exported with them."
        )
    # The networks fit built, whatever set_params has changed since.
    network = getattr(estimator, "_fitted_architecture", {}).get("network", estimator.network)
    if network != "mlp":
        # The graph is written layer by layer for skvae's perceptrons; other
        # networks would need torch.onnx, whose graphs skl2onnx cannot embed.
        raise NotImplementedError(
            f"skvae.onnx exports network='mlp' only; this {type(estimator).__name__} was fitted with "
            f"network={network!r}."
        )


def _check_input(operator):
    from skl2onnx.common.data_types import FloatTensorType

    estimator = operator.raw_operator
    _check_exportable(estimator)
    n_features = estimator.n_features_in_
    if len(operator.inputs) != 1:
        # skl2onnx makes an input of each column of a DataFrame sample.
        raise ValueError(
            f"{type(estimator).__name__} reads one ONNX input of {n_features} float32 columns, got "
            f"{len(operator.inputs)} inputs. Give to_onnx an array (e.g. X.to_numpy(np.float32)[:1] for "
            "a DataFrame X); in a pipeline, a step before it (a StandardScaler, a ColumnTransformer) may "
            "take the DataFrame's columns."
        )
    input_type = operator.inputs[0].type
    width = input_type.shape[1] if len(input_type.shape) == 2 else None
    if isinstance(width, int) and width != n_features:
        raise ValueError(
            f"X has {width} features, but {type(estimator).__name__} is expecting {n_features} features "
            "as input: give to_onnx rows of the width it was fitted on."
        )
    if not isinstance(input_type, FloatTensorType):
        raise TypeError(
            f"{type(estimator).__name__} computes in float32, but its ONNX input is "
            f"{type(input_type).__name__}: give to_onnx float32 rows."
        )


def _transformer_shapes(operator):
    from skl2onnx.common.data_types import FloatTensorType

    _check_input(operator)
    n_rows = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = FloatTensorType([n_rows, operator.raw_operator.n_components_])


def _detector_shapes(operator):
    from skl2onnx.common.data_types import FloatTensorType, Int64TensorType

    _check_input(operator)
    n_rows = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = Int64TensorType([n_rows, 1])
    operator.outputs[1].type = FloatTensorType([n_rows, 1])


def _missing_cells(container, estimator):
    """The ``missing_cells`` option: whether the graph fills and scores NaN cells as skvae does."""
    return container.get_options(estimator, {"missing_cells": True})["missing_cells"]


def _opset(container):
    """The target opset, refused below _MIN_OPSET."""
    if container.target_opset < _MIN_OPSET:
        raise ValueError(
            f"skvae.onnx writes graphs of opset {_MIN_OPSET} or later; target_opset={container.target_opset}."
        )
    return container.target_opset


def _convert_transformer(scope, operator, container):
    _, ops = _skl2onnx()
    opv = _opset(container)
    estimator = operator.raw_operator
    rows, _ = graphs.prepared(ops, estimator, operator.inputs[0], opv, _missing_cells(container, estimator))
    codes = graphs.codes(ops, estimator, rows, opv)
    output = ops.OnnxIdentity(codes, op_version=opv, output_names=operator.outputs[:1])
    output.add_to(scope, container)


def _convert_detector(scope, operator, container):
    from onnx import TensorProto

    _, ops = _skl2onnx()
    opv = _opset(container)
    estimator = operator.raw_operator
    missing_cells = _missing_cells(container, estimator)
    rows, observed = graphs.prepared(ops, estimator, operator.inputs[0], opv, missing_cells)
    if isinstance(estimator, VAEOutlierDetector):
        score = graphs.importance_weighted_score(ops, estimator, rows, observed, opv)
    else:
        score = graphs.reconstruction_score(ops, estimator, rows, observed, opv)
    decision = ops.OnnxSub(
        score, graphs.const([estimator.offset_]), op_version=opv, output_names=operator.outputs[1:2]
    )
    # +1 for inliers, -1 where the decision function is negative, as predict; and -1 where it
    # is NaN (a row with no observed cell, which skvae refuses to score): never a silent inlier.
    negative_or_nan = ops.OnnxOr(
        ops.OnnxLess(decision, graphs.const([0.0]), op_version=opv),
        ops.OnnxIsNaN(decision, op_version=opv),
        op_version=opv,
    )
    outlier = ops.OnnxCast(negative_or_nan, to=TensorProto.INT64, op_version=opv)
    label = ops.OnnxAdd(
        ops.OnnxMul(outlier, np.array([-2], dtype=np.int64), op_version=opv),
        np.array([1], dtype=np.int64),
        op_version=opv,
        output_names=operator.outputs[:1],
    )
    label.add_to(scope, container)
    decision.add_to(scope, container)
