"""Property-based tests: any numeric input is either used, with finite outputs, or refused.

Hypothesis draws shapes (1..40 rows, 1..8 features), dtypes (float16/32/64
and integers) and values: ordinary ones, huge and tiny magnitudes up to the
dtype's limits, duplicated rows, constant columns and missing (NaN) cells
anywhere, whole rows and columns included. Whatever it draws,
fitting and then transform, score_samples and inverse_transform (and the
detectors' decision_function and predict) either succeed with finite
outputs of the right shape and dtype, or raise ValueError or TypeError --
never another exception, never NaN or infinity. Ordinary tables (values to
two decimals within +-10, every row and column with an observed cell) are
never refused.
"""

import warnings
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from skvae import AutoencoderOutlierDetector, AutoencoderTransformer, VAEOutlierDetector, VAETransformer

ESTIMATORS = [AutoencoderTransformer, VAETransformer, AutoencoderOutlierDetector, VAEOutlierDetector]
MAX_EXAMPLES = 50
FLOAT_WIDTHS = {np.float16: 16, np.float32: 32, np.float64: 64}


def elements(dtype):
    if dtype in FLOAT_WIDTHS:
        width = FLOAT_WIDTHS[dtype]
        return st.one_of(
            st.floats(-10, 10, width=width),
            # Anything finite the dtype holds: huge, tiny and subnormal values included.
            st.floats(allow_nan=False, allow_infinity=False, width=width),
        )
    info = np.iinfo(dtype)
    return st.one_of(st.integers(-10, 10).map(lambda v: max(v, info.min)), st.integers(info.min, info.max))


@st.composite
def inputs(draw):
    n_rows = draw(st.integers(1, 40))
    n_features = draw(st.integers(1, 8))
    dtype = draw(st.sampled_from([np.float16, np.float32, np.float64, np.int64, np.int32, np.uint8]))
    X = draw(arrays(dtype, (n_rows, n_features), elements=elements(dtype)))
    if draw(st.booleans()):  # a constant column
        X[:, draw(st.integers(0, n_features - 1))] = draw(elements(dtype))
    if draw(st.booleans()):  # duplicated rows
        X = X[draw(st.lists(st.integers(0, n_rows - 1), min_size=1, max_size=40))]
    if np.issubdtype(X.dtype, np.floating) and draw(st.booleans()):  # missing cells, anywhere
        missing = draw(arrays(np.bool_, X.shape, elements=st.booleans()))
        X = np.where(missing, np.nan, X).astype(X.dtype)
    return X


def make(estimator_class):
    params = {"n_importance_samples": 4} if issubclass(estimator_class, VAETransformer) else {}
    return estimator_class(n_components=2, hidden_layer_sizes=(4,), max_iter=2, random_state=0, **params)


def use(estimator, X):
    """Every output of a model fitted on X, on X."""
    outputs = {"transform": estimator.transform(X), "score_samples": estimator.score_samples(X)}
    outputs["inverse_transform"] = estimator.inverse_transform(outputs["transform"])
    if isinstance(estimator, (AutoencoderOutlierDetector, VAEOutlierDetector)):
        outputs["decision_function"] = estimator.decision_function(X)
        outputs["predict"] = estimator.predict(X)
    return outputs


def check(estimator_class, X):
    """Fit and use; return what happened, failing on anything but the allowed outcomes."""
    estimator = make(estimator_class)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning with max_iter=2
            estimator.fit(X)
    except (ValueError, TypeError) as exc:
        assert str(exc)
        return "fit refused"
    try:
        outputs = use(estimator, X)
    except (ValueError, TypeError) as exc:
        assert str(exc)
        return "use refused"
    n_samples, n_features = X.shape
    dtype = np.float32 if X.dtype == np.float32 else np.float64
    shapes = {
        "transform": (n_samples, 2),
        "score_samples": (n_samples,),
        "inverse_transform": (n_samples, n_features),
        "decision_function": (n_samples,),
        "predict": (n_samples,),
    }
    for method, output in outputs.items():
        assert output.shape == shapes[method], method
        assert np.all(np.isfinite(output)), method
        if method == "predict":
            assert set(np.unique(output)) <= {-1, 1}
        else:
            assert output.dtype == dtype, method
    return "finite outputs"


@pytest.mark.parametrize("estimator_class", ESTIMATORS)
def test_fit_and_use_give_finite_outputs_or_a_clear_error(estimator_class, record_property):
    outcomes = Counter()

    @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(X=inputs())
    def property_holds(X):
        outcomes[check(estimator_class, X)] += 1

    property_holds()
    # How many examples ran, and what they did: visible with `pytest -s` and in junit XML.
    print(f"\n{estimator_class.__name__}: {sum(outcomes.values())} examples, {dict(outcomes)}")
    record_property("hypothesis_outcomes", dict(outcomes))
    assert outcomes["finite outputs"] > 0, outcomes
    assert sum(outcomes.values()) >= MAX_EXAMPLES // 2, outcomes


@st.composite
def ordinary_inputs(draw):
    """Values to two decimals within +-10, missing cells anywhere but never a whole row or column."""
    n_rows, n_features = draw(st.integers(1, 40)), draw(st.integers(1, 8))
    cents = draw(arrays(np.int64, (n_rows, n_features), elements=st.integers(-1000, 1000)))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    X = (cents / 100).astype(dtype)
    missing = draw(arrays(np.bool_, X.shape, elements=st.booleans()))
    missing[np.arange(n_rows), draw(arrays(np.int64, n_rows, elements=st.integers(0, n_features - 1)))] = (
        False
    )
    missing[
        draw(arrays(np.int64, n_features, elements=st.integers(0, n_rows - 1))), np.arange(n_features)
    ] = False
    return np.where(missing, np.nan, X).astype(dtype)


@pytest.mark.parametrize("estimator_class", ESTIMATORS)
def test_ordinary_tables_are_never_refused(estimator_class):
    @settings(max_examples=MAX_EXAMPLES // 2, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(X=ordinary_inputs())
    def property_holds(X):
        assert check(estimator_class, X) == "finite outputs"

    property_holds()
