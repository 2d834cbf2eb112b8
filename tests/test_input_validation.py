"""Bad input, the scikit-learn way: one case per row of docs/bad_input.md, for every estimator.

Each case says what a user passes, to which methods, and what happens: an
error in scikit-learn's words, or finite outputs of the right shape and
dtype -- never a torch traceback, never NaN. docs/bad_input.md is rendered
from CASES, and a test keeps the two in sync; after changing a case,
regenerate the page with ``python tests/test_input_validation.py``.
"""

import copy
import re
import warnings
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from torch import nn

from skvae import AutoencoderOutlierDetector, AutoencoderTransformer, VAEOutlierDetector, VAETransformer

ESTIMATORS = (AutoencoderTransformer, VAETransformer, AutoencoderOutlierDetector, VAEOutlierDetector)
VAES = (VAETransformer, VAEOutlierDetector)
DETECTORS = (AutoencoderOutlierDetector, VAEOutlierDetector)
# Methods that validate X as score_samples does, on the detectors only.
DETECTOR_METHODS = ("decision_function", "predict", "feature_contributions")
TABLE = Path(__file__).resolve().parents[1] / "docs" / "bad_input.md"

N_COMPONENTS = 2
BASE = np.random.RandomState(0).normal(size=(30, 4))


def make(estimator_class, **params):
    if issubclass(estimator_class, VAETransformer):
        params.setdefault("n_importance_samples", 8)
    return estimator_class(
        n_components=N_COMPONENTS, hidden_layer_sizes=(8,), max_iter=3, random_state=0, **params
    )


# -- what a case expects ------------------------------------------------------


@dataclass(frozen=True)
class Raises:
    """The call raises ``error`` whose message contains ``message``.

    ``{estimator}`` in the message stands for the estimator's class name. With ``warns``, a
    UserWarning containing that message comes first.
    """

    error: type
    message: str
    warns: str = ""

    def describe(self):
        text = f"`{self.error.__name__}`: {self.message.format(estimator='<Estimator>')}"
        if self.warns:
            text += f", after a UserWarning: {self.warns}"
        return text


@dataclass(frozen=True)
class Works:
    """The call succeeds; every output is finite, of the right shape, in ``dtype``.

    With ``reference``, outputs equal those for the reference input; with
    ``warns``, the call gives a UserWarning containing that message.
    """

    dtype: type = np.float64
    reference: object = None
    same_as: str = ""
    warns: str = ""

    def describe(self):
        text = f"works: finite {np.dtype(self.dtype).name} outputs"
        if self.same_as:
            text += f", identical to those for {self.same_as}"
        if self.warns:
            text += f", with a UserWarning: {self.warns.format(estimator='<Estimator>')}"
        return text


@dataclass(frozen=True)
class Case:
    """An input (``data(tmp_path)``) passed to ``methods`` of a model made with ``params``.

    Methods other than fit run on a model fitted on ``fitted_on()``.
    """

    id: str
    input: str
    methods: tuple
    data: object
    expect: object
    params: dict = field(default_factory=dict)
    fitted_on: object = None
    estimators: tuple = ESTIMATORS


# -- inputs ----------------------------------------------------------------------


def with_value(value):
    X = BASE.copy()
    X[3, 1] = value
    return X


def with_nan_cells():
    X = BASE.copy()
    X[np.random.RandomState(1).rand(*X.shape) < 0.2] = np.nan
    return X


def with_empty_row():
    X = BASE.copy()
    X[3] = np.nan
    return X


def with_empty_column():
    X = BASE.copy()
    X[:, 1] = np.nan
    return X


def with_category():
    return frame().assign(d=np.where(BASE[:, 3] > 0, "high", "low").astype(object))


def with_only_an_unseen_category():
    X = with_category().assign(d=["new"] + ["high"] * 29)
    X.loc[0, ["a", "b", "c"]] = np.nan
    return X


def with_text_cell(frame):
    """A table whose column b holds one stray text marker, as files of numbers often do."""
    frame.loc[3, "b"] = "n/a"
    return frame


def codes_with(value):
    codes = np.zeros((5, N_COMPONENTS))
    codes[2, 0] = value
    return codes


def read_only_memmap(tmp_path):
    path = tmp_path / "X.dat"
    BASE.tofile(path)
    return np.memmap(path, dtype=np.float64, mode="r", shape=BASE.shape)


def frame():
    return pd.DataFrame(BASE, columns=["a", "b", "c", "d"])


def unit_interval():
    return 1 / (1 + np.exp(-BASE))


def three_wide_code(n_features, n_components, input_shape):
    """A user network whose encoder returns 3 numbers per row, for codes of 2."""
    return nn.Linear(n_features, 3), nn.Linear(n_components, n_features)


CASES = [
    Case(
        "nan",
        "NaN in X (missing cells)",
        ("fit", "partial_fit", "transform", "score_samples"),
        lambda tmp: with_nan_cells(),
        Works(),
    ),
    Case(
        "empty-row-fit",
        "a row with no observed value (all NaN)",
        ("fit", "partial_fit", "score_samples"),
        lambda tmp: with_empty_row(),
        Raises(ValueError, "X has 1 row(s) with no observed value (rows 3)"),
    ),
    Case(
        "empty-row-transform",
        "a row with no observed value (all NaN)",
        ("transform",),
        lambda tmp: with_empty_row(),
        Works(),
    ),
    Case(
        "empty-column",
        "a column with no observed value (all NaN)",
        ("fit",),
        lambda tmp: with_empty_column(),
        Raises(ValueError, "Column(s) [1] of X have no observed value"),
    ),
    Case(
        "nan-codes",
        "NaN in the codes",
        ("inverse_transform",),
        lambda tmp: codes_with(np.nan),
        Raises(ValueError, "Input X contains NaN."),
    ),
    Case(
        "inf",
        "inf in X",
        ("fit", "partial_fit", "transform", "score_samples"),
        lambda tmp: with_value(np.inf),
        Raises(ValueError, "Input X contains infinity or a value too large for dtype('float64')."),
    ),
    Case(
        "inf-categorical",
        "inf in a column named in `categorical_features`",
        ("fit", "transform", "score_samples"),
        lambda tmp: with_value(np.inf),
        Raises(ValueError, "Input X contains infinity in its categorical column 1."),
        params={"categorical_features": [1]},
    ),
    Case(
        "inf-codes",
        "inf in the codes",
        ("inverse_transform",),
        lambda tmp: codes_with(-np.inf),
        Raises(ValueError, "Input X contains infinity or a value too large for dtype('float64')."),
    ),
    Case(
        "empty",
        "an empty array, shape (0, 4)",
        ("fit", "partial_fit", "transform", "score_samples"),
        lambda tmp: BASE[:0],
        Raises(ValueError, "Found array with 0 sample(s) (shape=(0, 4)) while a minimum of 1 is required"),
    ),
    Case(
        "no-features",
        "no features, shape (30, 0)",
        ("fit",),
        lambda tmp: BASE[:, :0],
        Raises(ValueError, "Found array with 0 feature(s) (shape=(30, 0)) while a minimum of 1 is required"),
    ),
    Case(
        "one-dimensional",
        "a 1-D array",
        ("fit", "transform", "score_samples"),
        lambda tmp: BASE[:, 0],
        Raises(ValueError, "Expected 2D array, got 1D array instead"),
    ),
    Case("one-row", "one row", ("fit",), lambda tmp: BASE[:1], Works()),
    Case("one-feature", "one feature", ("fit",), lambda tmp: BASE[:, :1], Works()),
    Case(
        "fewer-rows-than-batch",
        "fewer rows (10) than `batch_size` (64)",
        ("fit",),
        lambda tmp: BASE[:10],
        Works(warns="Got batch_size=64, larger than the 10 training rows: it is clipped to 10."),
        params={"batch_size": 64},
    ),
    Case(
        "constant-column",
        "a constant column",
        ("fit",),
        lambda tmp: np.column_stack([BASE[:, :3], np.full(30, 7.0)]),
        Works(),
    ),
    Case("all-constant", "every column constant", ("fit",), lambda tmp: np.full((30, 4), 7.0), Works()),
    Case(
        "huge-fit",
        "values of magnitude 1e30",
        ("fit",),
        lambda tmp: BASE * 1e30,
        Raises(
            ValueError,
            "Training of {estimator} diverged",
            warns="their typical standard deviation is 1.01e+30, where the networks train best near 1",
        ),
    ),
    Case(
        "timestamps",
        "a column of timestamps in seconds (1.7e9, varying by thousands)",
        ("fit",),
        lambda tmp: np.column_stack([BASE[:, 0], 1.7e9 + 1000 * BASE[:, 1], BASE[:, 2:]]),
        Works(warns="column(s) [1] vary by less than 1/10,000 of their size, which float32 keeps little of"),
    ),
    Case(
        "far-from-zero",
        "columns far from 0 for their spread (heights in cm: 170 +- 10)",
        ("fit",),
        lambda tmp: np.column_stack([BASE[:, :3], 170 + 10 * BASE[:, 3]]),
        Works(
            warns="column(s) [3] sit more than 10 standard deviations from 0, an offset the networks learn"
        ),
    ),
    Case(
        "one-wide-column",
        "one column of standard deviation 300 among columns near 1",
        ("fit",),
        lambda tmp: np.column_stack([BASE[:, :3], 300 * BASE[:, 3]]),
        Works(warns="column(s) [3] have standard deviations above 100 (up to 268), which swamp the others"),
    ),
    Case(
        "huge-transform",
        "values of magnitude 1e30, to a model fitted on unit-scale data",
        ("transform",),
        lambda tmp: BASE * 1e30,
        Works(),
    ),
    Case(
        "huge-score",
        "values of magnitude 1e30, to a model fitted on unit-scale data",
        ("score_samples",),
        lambda tmp: BASE * 1e30,
        Raises(ValueError, "The float32 computation overflowed (some results are infinite or NaN)"),
    ),
    Case(
        "beyond-float32",
        "values beyond float32's range (1e300)",
        ("fit", "partial_fit", "transform", "score_samples"),
        lambda tmp: with_value(1e300),
        Raises(ValueError, "Input X contains a value too large for dtype('float32')"),
    ),
    Case(
        "beyond-float32-standardized",
        "a value beyond float32's range once standardised (1e39), with `standardize=True`",
        ("transform", "score_samples"),
        lambda tmp: with_value(1e39),
        Raises(ValueError, "Column [1] of X holds 1e+39, 8.92e+38 standard deviations from its mean in fit"),
        params={"standardize": True},
    ),
    Case(
        "too-wide-to-standardize",
        "a column of +-1.7e308 (its variance overflows float64), with `standardize=True`",
        ("fit",),
        lambda tmp: np.column_stack([np.sign(BASE[:, 0]) * 1.7e308, BASE[:, 1:]]),
        Raises(ValueError, "Column(s) [0] of X hold values too far apart for float64 to standardise"),
        params={"standardize": True},
    ),
    Case(
        "below-float32",
        "values below float32's smallest normal number (1e-310)",
        ("fit",),
        lambda tmp: BASE * 1e-310,
        Raises(ValueError, "Column(s) [0, 1, 2, 3] of X hold values below 1.18e-38 in magnitude only"),
    ),
    Case(
        "below-float32-constant",
        "a constant column of 1e-300 (below float32's range, but pinned to its value)",
        ("fit",),
        lambda tmp: np.column_stack([BASE[:, :3], np.full(30, 1e-300)]),
        Works(),
    ),
    Case(
        "beyond-float32-codes",
        "codes beyond float32's range (1e300)",
        ("inverse_transform",),
        lambda tmp: codes_with(1e300),
        Raises(ValueError, "Input X contains a value too large for dtype('float32')"),
    ),
    Case(
        "strings",
        "strings (an object array)",
        ("fit", "transform", "score_samples"),
        lambda tmp: np.where(BASE > 0, "high", "low").astype(object),
        Raises(ValueError, "could not convert string to float"),
    ),
    Case(
        "string-column",
        "a DataFrame with a string column (categorical)",
        ("fit",),
        lambda tmp: with_category(),
        Works(),
    ),
    Case(
        "unseen-category",
        "a category not seen in fit (transformers)",
        ("transform", "score_samples"),
        lambda tmp: with_category().assign(d=["new"] + ["high"] * 29),
        Works(
            warns="Column 'd' has categories not seen in fit (new): the networks read those cells as missing."
        ),
        fitted_on=with_category,
        estimators=(AutoencoderTransformer, VAETransformer),
    ),
    Case(
        "unseen-category-detector",
        "a category not seen in fit (detectors)",
        ("transform", "score_samples"),
        lambda tmp: with_category().assign(d=["new"] + ["high"] * 29),
        Works(
            warns="Column 'd' has categories not seen in fit (new): the networks read those cells as "
            "missing, and score_samples counts each as a category of probability 1 / (n + 1), n "
            "the column's 30 training cells (see n_samples_seen_)."
        ),
        fitted_on=with_category,
        estimators=DETECTORS,
    ),
    Case(
        "only-an-unseen-category",
        "a row whose only value is a category not seen in fit",
        ("score_samples",),
        lambda tmp: with_only_an_unseen_category(),
        Raises(
            ValueError,
            "X has 1 row(s) with no observed value (rows 0; categories not seen in fit count as missing)",
            warns="Column 'd' has categories not seen in fit (new): the networks read those cells as missing",
        ),
        fitted_on=with_category,
    ),
    Case(
        "categorical-now-numeric",
        "a categorical column that is numeric after fit",
        ("transform", "score_samples"),
        lambda tmp: frame(),
        Raises(ValueError, "in fit and is float64 now: give it the dtype it had in fit."),
        fitted_on=with_category,
    ),
    Case(
        "numeric-now-categorical",
        "a numeric column that is categorical after fit",
        ("transform", "score_samples"),
        lambda tmp: with_category(),
        Raises(ValueError, "could not convert string to float"),
        fitted_on=frame,
    ),
    Case(
        "object-numbers",
        "numbers in an object array",
        ("fit",),
        lambda tmp: BASE.astype(object),
        Works(reference=lambda tmp: BASE, same_as="the float64 array"),
    ),
    Case(
        "object-number-column",
        "a DataFrame column of numbers with object dtype",
        ("fit",),
        lambda tmp: frame().astype({"b": object}),
        Works(reference=lambda tmp: frame(), same_as="the float64 frame"),
    ),
    Case(
        "numbers-and-strings-column",
        "a DataFrame column of numbers and strings (object dtype; a stray `'n/a'`)",
        ("fit",),
        lambda tmp: with_text_cell(frame().astype({"b": object})),
        Raises(TypeError, "Column 'b' of X mixes numbers and strings ('n/a')"),
    ),
    Case(
        "numbers-as-text-column",
        "a string column whose cells read as numbers but for a few (`'n/a'`)",
        ("fit",),
        lambda tmp: with_text_cell(frame().astype({"b": str})),
        Works(warns="Column 'b' of X holds text, read as categorical, but all of its cells except 1 ('n/a')"),
    ),
    Case(
        "numbers-only-text-column",
        "a string column whose every cell reads as a number (`read_csv(dtype=str)`)",
        ("fit",),
        lambda tmp: frame().astype({"b": str}),
        Works(warns="Column 'b' of X holds text, read as categorical, but every cell reads as a number"),
    ),
    Case(
        "all-missing-column-later",
        "a column with no observed cell after fit, of another dtype (a row built from a dict with None)",
        ("transform", "score_samples"),
        lambda tmp: frame().assign(d=None),
        Works(reference=lambda tmp: frame().assign(d=np.nan), same_as="that column as float NaN"),
        fitted_on=frame,
    ),
    Case(
        "dates",
        "a column of dates",
        ("fit", "transform", "score_samples"),
        lambda tmp: frame().assign(d=pd.date_range("2020-01-01", periods=30)),
        Raises(ValueError, "Column(s) ['d'] of X hold dates, times or durations (datetime64"),
        fitted_on=frame,
    ),
    Case(
        "dates-as-objects",
        "a column of dates as Python objects (`Series.dt.date`)",
        ("fit", "transform", "score_samples"),
        lambda tmp: frame().assign(d=pd.date_range("2020-01-01", periods=30).date),
        Raises(ValueError, "Column(s) ['d'] of X hold dates, times or durations (object holding date"),
        fitted_on=frame,
    ),
    Case(
        "complex",
        "complex numbers",
        ("fit", "transform", "score_samples"),
        lambda tmp: BASE + 1j,
        Raises(ValueError, "Complex data not supported"),
    ),
    Case(
        "sparse",
        "a SciPy sparse matrix (CSR; CSC, COO and sparse arrays alike)",
        ("fit", "partial_fit", "transform", "score_samples"),
        lambda tmp: sp.csr_matrix(BASE),
        Works(),
    ),
    Case(
        "sparse-codes",
        "sparse codes",
        ("inverse_transform",),
        lambda tmp: sp.csr_matrix(codes_with(1.0)),
        Raises(TypeError, "Sparse data was passed for X, but dense data is required."),
    ),
    Case(
        "read-only-memmap",
        "a read-only memory map (`np.memmap`, mode 'r')",
        ("fit", "transform", "score_samples"),
        read_only_memmap,
        Works(reference=lambda tmp: BASE, same_as="the array in memory"),
    ),
    Case(
        "wrong-width",
        "3 features to a model fitted on 4",
        ("partial_fit", "transform", "score_samples"),
        lambda tmp: BASE[:, :3],
        Raises(ValueError, "X has 3 features, but {estimator} is expecting 4 features as input."),
    ),
    Case(
        "wrong-code-width",
        "codes of width 3 to a model with `n_components=2`",
        ("inverse_transform",),
        lambda tmp: np.zeros((5, 3)),
        Raises(
            ValueError,
            "X has 3 features, but {estimator}.inverse_transform is expecting 2 features "
            "(n_components) as input.",
        ),
    ),
    Case(
        "reordered-columns",
        "a DataFrame whose columns were reordered after fit",
        ("partial_fit", "transform", "score_samples"),
        lambda tmp: frame()[["d", "c", "b", "a"]],
        Raises(ValueError, "Feature names must be in the same order as they were in fit."),
        fitted_on=frame,
    ),
    Case(
        "renamed-columns",
        "a DataFrame whose columns were renamed after fit",
        ("partial_fit", "transform", "score_samples"),
        lambda tmp: frame().set_axis(["w", "x", "y", "z"], axis=1),
        Raises(ValueError, "Feature names unseen at fit time:"),
        fitted_on=frame,
    ),
    Case(
        "frame-after-array",
        "a DataFrame to a model fitted on an array",
        ("transform", "score_samples"),
        lambda tmp: frame(),
        Works(
            reference=lambda tmp: BASE,
            same_as="the array",
            warns="X has feature names, but {estimator} was fitted without feature names",
        ),
    ),
    Case(
        "array-after-frame",
        "an array to a model fitted on a DataFrame",
        ("transform", "score_samples"),
        lambda tmp: BASE,
        Works(
            reference=lambda tmp: frame(),
            same_as="the DataFrame",
            warns="X does not have valid feature names, but {estimator} was fitted with feature names",
        ),
        fitted_on=frame,
    ),
    Case(
        "float16",
        "float16",
        ("fit",),
        lambda tmp: BASE.astype(np.float16),
        Works(
            reference=lambda tmp: BASE.astype(np.float16).astype(np.float64), same_as="`X.astype(float64)`"
        ),
    ),
    Case("float32", "float32", ("fit",), lambda tmp: BASE.astype(np.float32), Works(dtype=np.float32)),
    Case(
        "integers",
        "integers",
        ("fit",),
        lambda tmp: np.round(3 * BASE).astype(np.int64),
        Works(reference=lambda tmp: np.round(3 * BASE), same_as="`X.astype(float64)`"),
    ),
    Case(
        "booleans",
        "booleans",
        ("fit",),
        lambda tmp: BASE > 0,
        Works(reference=lambda tmp: (BASE > 0).astype(np.float64), same_as="`X.astype(float64)`"),
    ),
    Case(
        "non-contiguous",
        "a non-contiguous view (`X[:, ::2]`)",
        ("fit", "transform", "score_samples"),
        lambda tmp: np.repeat(BASE, 2, axis=1)[:, ::2],
        Works(reference=lambda tmp: BASE, same_as="a contiguous copy"),
    ),
    Case(
        "fortran-order",
        "a Fortran-ordered array",
        ("fit", "transform", "score_samples"),
        lambda tmp: np.asfortranarray(BASE),
        Works(reference=lambda tmp: BASE, same_as="the C-ordered array"),
    ),
    Case(
        "list",
        "a list of lists",
        ("fit",),
        lambda tmp: BASE.tolist(),
        Works(reference=lambda tmp: BASE, same_as="the array"),
    ),
    Case(
        "conv-without-shape",
        "`network='conv'` without `input_shape`",
        ("fit",),
        lambda tmp: BASE,
        Raises(ValueError, "network='conv' needs input_shape: (channels, length) for series"),
        params={"network": "conv"},
    ),
    Case(
        "conv-shape-mismatch",
        "an `input_shape` that cannot hold the rows (`(1, 3)` for 4 features)",
        ("fit",),
        lambda tmp: BASE,
        Raises(ValueError, "input_shape=(1, 3) cannot hold rows of 4 features"),
        params={"network": "conv", "input_shape": (1, 3)},
    ),
    Case(
        "module-instance",
        "a torch module instance as `network` (not a class or function)",
        ("fit",),
        lambda tmp: BASE,
        Raises(TypeError, "got an instance of Linear. Pass its class"),
        params={"network": nn.Linear(4, 2)},
    ),
    Case(
        "wrong-code-shape",
        "a user network whose encoder returns the wrong shape",
        ("fit",),
        lambda tmp: BASE,
        Raises(
            ValueError, "The encoder of network=three_wide_code returned a float32 tensor of shape (2, 3)"
        ),
        params={"network": three_wide_code},
    ),
    Case(
        "outside-unit-interval",
        "values outside [0, 1] (VAEs with `likelihood='bernoulli'`)",
        ("fit", "partial_fit", "score_samples"),
        lambda tmp: BASE,
        Raises(ValueError, "likelihood='bernoulli' needs X in [0, 1]"),
        params={"likelihood": "bernoulli"},
        fitted_on=unit_interval,
        estimators=VAES,
    ),
]


# -- running a case -----------------------------------------------------------


def expand(methods, estimator_class):
    """The case's methods, with the detectors' own after score_samples."""
    expanded = []
    for method in methods:
        expanded.append(method)
        if method == "score_samples" and issubclass(estimator_class, DETECTORS):
            expanded.extend(DETECTOR_METHODS)
    return expanded


def outputs_after_fit(estimator, X):
    """Every output of a freshly fitted estimator, on its own training input."""
    results = {"transform": estimator.transform(X), "score_samples": estimator.score_samples(X)}
    results["inverse_transform"] = estimator.inverse_transform(results["transform"])
    if isinstance(estimator, DETECTORS):
        results.update({method: getattr(estimator, method)(X) for method in DETECTOR_METHODS})
    return results


def expected_shape(method, n_samples, n_features):
    if method == "transform":
        return (n_samples, N_COMPONENTS)
    if method in ("score_samples", "decision_function", "predict"):
        return (n_samples,)
    return (n_samples, n_features)


def check_outputs(results, expect, n_samples, n_features):
    for method, result in results.items():
        if isinstance(result, pd.DataFrame):  # the reconstruction of a table with categories
            assert result.shape == (n_samples, n_features), method
            assert result.notna().all().all(), method
            assert np.all(np.isfinite(result.select_dtypes("number"))), method
            continue
        result = np.asarray(result)
        assert result.shape == expected_shape(method, n_samples, n_features), method
        assert np.all(np.isfinite(result)), method
        if method == "predict":
            assert set(np.unique(result)) <= {-1, 1}
        else:
            assert result.dtype == expect.dtype, method


def run(case, estimator_class, method, X):
    """Outputs of ``method`` on X, as a dict (fit gives every output)."""
    if method == "fit":
        return outputs_after_fit(make(estimator_class, **case.params).fit(X), X)
    if method == "partial_fit":  # continues the fitted model (a copy: the cases share it)
        return outputs_after_fit(copy.deepcopy(fitted(case, estimator_class)).partial_fit(X), X)
    return {method: getattr(fitted(case, estimator_class), method)(X)}


_FITTED = {}


def fitted(case, estimator_class):
    """The case's model fitted on clean data, shared by its methods (failed calls change nothing)."""
    key = case.id, estimator_class
    if key not in _FITTED:
        training = BASE if case.fitted_on is None else case.fitted_on()
        _FITTED[key] = make(estimator_class, **case.params).fit(training)
    return _FITTED[key]


# Only the expected UserWarnings; ConvergenceWarning is one, and expected with max_iter=3.
@pytest.mark.filterwarnings("error::UserWarning", "ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    "case, estimator_class",
    [pytest.param(case, cls, id=f"{case.id}-{cls.__name__}") for case in CASES for cls in case.estimators],
)
def test_bad_input(case, estimator_class, tmp_path):
    X = case.data(tmp_path)
    for method in expand(case.methods, estimator_class):
        if isinstance(case.expect, Raises):
            message = case.expect.message.format(estimator=estimator_class.__name__)
            warned = (
                pytest.warns(UserWarning, match=re.escape(case.expect.warns))
                if case.expect.warns
                else nullcontext()
            )
            with warned, pytest.raises(case.expect.error, match=re.escape(message)) as excinfo:
                run(case, estimator_class, method, X)
            # The error comes from validation, not from deep inside torch.
            assert not any("torch" in Path(str(entry.path)).parts for entry in excinfo.traceback), method
            continue
        if case.expect.warns:
            message = case.expect.warns.format(estimator=estimator_class.__name__)
            with pytest.warns(UserWarning, match=re.escape(message)):
                results = run(case, estimator_class, method, X)
        else:
            results = run(case, estimator_class, method, X)
        n_samples, n_features = np.shape(X)
        check_outputs(results, case.expect, n_samples, n_features)
        if case.expect.reference is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                expected = run(case, estimator_class, method, case.expect.reference(tmp_path))
            for name, result in results.items():
                np.testing.assert_array_equal(result, expected[name], err_msg=name)


def test_read_only_memmap_is_left_untouched(tmp_path):
    X = read_only_memmap(tmp_path)
    make(AutoencoderOutlierDetector).fit(X).score_samples(X)
    np.testing.assert_array_equal(X, BASE)
    assert not X.flags.writeable


# -- the documentation table --------------------------------------------------

HEADER = """\
# Bad input

What each estimator does with input it cannot use as it is. Every row holds
for all four estimators (`AutoencoderTransformer`, `VAETransformer`,
`AutoencoderOutlierDetector`, `VAEOutlierDetector`) unless it says otherwise,
and is checked by `tests/test_input_validation.py`, from whose cases this page
is generated: `python tests/test_input_validation.py` rewrites it.

- Errors are scikit-learn's own (`validate_data`) wherever scikit-learn has
  one, so they read as they do for any scikit-learn estimator.
- "score_samples" stands for the detectors' `decision_function`, `predict`
  and `feature_contributions` too: they validate X in the same way.
- "works" means every output (`transform`, `score_samples`,
  `inverse_transform`, and for the detectors `decision_function`, `predict`,
  `feature_contributions`) is finite, of the right shape, and in the stated
  dtype. No input gives NaN or infinite output.
- skvae computes in float32. A value beyond float32's range (about 3.4e38) is
  refused before it reaches torch; a finite input whose results overflow
  float32 inside the networks (a squared error of 1e30, say) is a
  `ValueError`, never an infinite or NaN score; so is training whose loss
  overflows (it diverges). Codes of such rows are still finite, so
  `transform` works. Scale such data (e.g. `StandardScaler`) first.
- NaN marks a missing cell: every estimator learns from the observed cells
  of incomplete rows, encodes a row from the cells it has and scores it on
  them. A row with nothing observed can be encoded but not scored, and a
  column with nothing observed in fit cannot be learned.
- Columns of pandas `category` or string dtype (or named by
  `categorical_features`) are categorical; a category not seen in fit is
  read as a missing cell by the networks, with a `UserWarning`, and the
  detectors' scores count it as a category of probability 1 / (n + 1) after
  n training cells: evidence that the row is unusual.
- SciPy sparse input is accepted by every estimator but `VAEImputer` and
  densified a chunk of rows at a time; an implicit zero is an observed
  zero. Sparse input with categorical columns, sparse codes given to
  `inverse_transform`, and sparse X given to `VAEImputer` (whose output is
  dense anyway) are refused with a `TypeError` that says what to pass.
- Feature names follow scikit-learn: a DataFrame whose columns were
  reordered or renamed after fit is a `ValueError`; mixing arrays and
  DataFrames between fit and later calls only warns.

"""


def render_table():
    rows = ["| Input | Methods | What happens |", "| --- | --- | --- |"]
    for case in CASES:
        methods = ", ".join(f"`{method}`" for method in case.methods)
        rows.append(f"| {case.input} | {methods} | {case.expect.describe()} |")
    return HEADER + "\n".join(rows) + "\n"


def test_docs_table_is_generated_from_these_cases():
    assert TABLE.read_text() == render_table(), "run `python tests/test_input_validation.py`"


if __name__ == "__main__":
    TABLE.write_text(render_table())
    print(f"wrote {TABLE}")
