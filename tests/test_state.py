"""The plain-data state that pickle, joblib, skops and save share: no torch object, rebuilt and checked."""

import copy
import pickle

import joblib
import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from skvae import (
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    VAEImputer,
    VAEOutlierDetector,
    VAETransformer,
)
from skvae._state import STATE_KEY, STATE_VERSION

ESTIMATORS = [AutoencoderTransformer, VAETransformer, AutoencoderOutlierDetector, VAEOutlierDetector]


@pytest.fixture(scope="module")
def X():
    rng = np.random.RandomState(0)
    return rng.normal(size=(80, 2)) @ rng.normal(size=(2, 5)) + 0.1 * rng.normal(size=(80, 5))


def make(estimator_class, **params):
    if issubclass(estimator_class, VAETransformer):
        params.setdefault("n_importance_samples", 8)
    params = {"n_components": 2, "hidden_layer_sizes": (8,), "max_iter": 3, "random_state": 0, **params}
    return estimator_class(**params)


def leaves(value):
    """Every value nested in dicts, lists and tuples."""
    if isinstance(value, dict):
        for item in value.values():
            yield from leaves(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from leaves(item)
    else:
        yield value


@pytest.mark.parametrize("estimator_class", ESTIMATORS)
def test_the_state_is_plain_python_and_numpy_data(estimator_class, X):
    state = make(estimator_class).fit(X).__getstate__()
    for value in leaves(state):
        assert value is None or isinstance(value, (bool, int, float, str, np.ndarray)), type(value)
        if isinstance(value, np.ndarray) and value.dtype != object:
            assert value.dtype in (np.float32, np.float64, np.int64)
    assert state[STATE_KEY]["version"] == STATE_VERSION
    architecture = state[STATE_KEY]["architecture"]
    assert architecture["n_features"] == 5 and architecture["hidden_layer_sizes"] == [8]


def test_an_unfitted_estimator_pickles_as_its_parameters():
    estimator = make(AutoencoderTransformer)
    restored = pickle.loads(pickle.dumps(estimator))
    assert restored.get_params() == estimator.get_params() and not hasattr(restored, "encoder_")


@pytest.mark.parametrize("estimator_class", ESTIMATORS)
@pytest.mark.parametrize("round_trip", ["pickle", "joblib", "deepcopy"])
def test_a_restored_model_predicts_and_trains_on_identically(estimator_class, round_trip, X, tmp_path):
    fitted = make(estimator_class).fit(X)
    if round_trip == "pickle":
        restored = pickle.loads(pickle.dumps(fitted))
    elif round_trip == "joblib":
        joblib.dump(fitted, tmp_path / "model.joblib")
        restored = joblib.load(tmp_path / "model.joblib")
    else:
        restored = copy.deepcopy(fitted)
    np.testing.assert_array_equal(restored.score_samples(X), fitted.score_samples(X))
    np.testing.assert_array_equal(restored.transform(X), fitted.transform(X))
    for module in restored._networks().values():
        assert not module.training
    # Adam's moments came along: one more pass gives the very same weights.
    restored.partial_fit(X)
    fitted.partial_fit(X)
    np.testing.assert_array_equal(restored.transform(X), fitted.transform(X))


ROUND_TRIPS = [lambda estimator: pickle.loads(pickle.dumps(estimator)), copy.deepcopy]


@pytest.mark.parametrize("estimator_class", ESTIMATORS)
@pytest.mark.parametrize("round_trip", ROUND_TRIPS, ids=["pickle", "deepcopy"])
def test_a_restored_model_has_the_networks_it_was_fitted_with_whatever_set_params_changed_since(
    estimator_class, round_trip, X
):
    fitted = make(estimator_class).fit(X)
    expected = fitted.score_samples(X)
    fitted.set_params(activation="tanh", hidden_layer_sizes=(3,), n_components=3)
    restored = round_trip(fitted)
    np.testing.assert_array_equal(restored.score_samples(X), expected)
    assert restored.get_params() == fitted.get_params()


INVALID_X = {
    "infinite": (np.array([[np.inf, 1.0], [0.0, 2.0], [1.0, 3.0]]), "Input X contains infinity"),
    "an empty column": (
        np.array([[np.nan, 1.0], [np.nan, 2.0], [np.nan, 3.0]]),
        r"Column\(s\) \[0\] of X have no observed value",
    ),
}


@pytest.mark.parametrize("estimator_class", ESTIMATORS)
@pytest.mark.parametrize("invalid", list(INVALID_X))
@pytest.mark.parametrize("round_trip", ROUND_TRIPS, ids=["pickle", "deepcopy"])
def test_an_estimator_whose_fit_refused_x_still_pickles_and_copies(estimator_class, invalid, round_trip, X):
    # As cross_validate(error_score=np.nan, n_jobs=2) sends back the estimator of a failed fold.
    X_invalid, message = INVALID_X[invalid]
    unfitted, fitted = make(estimator_class), make(estimator_class).fit(X)
    expected = fitted.score_samples(X)
    for estimator in (unfitted, fitted):
        with pytest.raises(ValueError, match=message):
            estimator.fit(X_invalid)
    with pytest.raises(NotFittedError):
        round_trip(unfitted).transform(X)
    np.testing.assert_array_equal(round_trip(fitted).score_samples(X), expected)  # as it was


def test_an_imputer_whose_fit_refused_x_still_pickles(X):
    imputer = make(VAEImputer)
    with pytest.raises(ValueError, match="Input X contains infinity"):
        imputer.fit(INVALID_X["infinite"][0])
    with pytest.raises(NotFittedError):
        pickle.loads(pickle.dumps(imputer)).transform(X)


def test_a_model_without_an_optimizer_restores_without_one(X):
    fitted = make(AutoencoderTransformer).fit(X)
    fitted._optimizer = None
    restored = pickle.loads(pickle.dumps(fitted))
    assert restored._optimizer is None
    restored.partial_fit(X)  # a fresh one
    assert restored.n_iter_ == fitted.n_iter_ + 1


def restore(estimator_class, state):
    estimator = estimator_class.__new__(estimator_class)
    estimator.__setstate__(state)
    return estimator


@pytest.fixture(scope="module")
def state(X):
    return make(AutoencoderTransformer).fit(X).__getstate__()


def edited(state, edit):
    state = copy.deepcopy(state)
    edit(state[STATE_KEY])
    return state


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda s: s.update(version=STATE_VERSION + 1), "from a newer skvae"),
        (lambda s: s.pop("version"), "has no version"),
        (lambda s: s["networks"].pop("decoder"), r"expected the networks \['decoder', 'encoder'\]"),
        (lambda s: s["networks"]["encoder"].pop("0.weight"), "does not hold the tensors"),
        (
            lambda s: s["networks"]["encoder"].update({"0.weight": np.zeros((8, 5))}),
            r"encoder/0.weight holds float64 \(8, 5\), expected float32 \(8, 5\)",
        ),
        (
            lambda s: s["networks"]["encoder"].update({"0.weight": np.zeros((8, 4), np.float32)}),
            r"expected float32 \(8, 5\)",
        ),
        (lambda s: s["networks"]["encoder"].update({"0.weight": "os.system"}), "holds str"),
        (lambda s: s["architecture"].update(n_features=10**12), r"expected float32 \(8, 1000000000000\)"),
        (lambda s: s["architecture"].update(n_features="five"), "invalid n_features"),
        (lambda s: s["architecture"].update(activation="gelu"), "invalid architecture"),
        (lambda s: s["architecture"].update(network="conv"), "invalid architecture .*needs input_shape"),
        (lambda s: s["architecture"].update(eval="os.system"), r"unknown architecture entries \['eval'\]"),
        (lambda s: s["optimizer"]["moments"].update({"99": {}}), "optimizer state for parameter '99'"),
        (
            lambda s: s["optimizer"]["moments"]["0"].update(exp_avg=np.zeros(3, np.float32)),
            r"the optimizer's exp_avg of parameter 0 holds float32 \(3,\), expected float32 \(8, 5\)",
        ),
        (lambda s: s["optimizer"].pop("learning_rate"), "invalid optimizer state"),
        (
            lambda s: s["optimizer"]["moments"]["0"].update(step=np.array(-1.0, np.float32)),
            r"invalid optimizer state for parameter 0 \(its values\)",
        ),
        (
            lambda s: s["optimizer"]["moments"]["0"]["exp_avg_sq"].__setitem__((0, 0), -1.0),
            r"invalid optimizer state for parameter 0 \(its values\)",
        ),
        (
            lambda s: s["optimizer"]["moments"]["0"]["exp_avg"].__setitem__((0, 0), np.nan),
            r"invalid optimizer state for parameter 0 \(its values\)",
        ),
    ],
)
def test_a_tampered_state_is_refused(state, edit, match):
    with pytest.raises(ValueError, match=match):
        restore(AutoencoderTransformer, edited(state, edit))


def test_networks_that_do_not_read_the_states_columns_are_refused(X, state):
    other = make(AutoencoderTransformer).fit(X[:, :4]).__getstate__()
    with pytest.raises(ValueError, match="its networks have n_features=4, its columns and attributes 5"):
        restore(AutoencoderTransformer, {**state, STATE_KEY: other[STATE_KEY]})
    unnamed = copy.deepcopy(state[STATE_KEY])
    unnamed["architecture"].pop("n_components")  # _build would take the class's default
    with pytest.raises(ValueError, match="its networks have n_components=None"):
        restore(AutoencoderTransformer, {**state, STATE_KEY: unnamed})
    wider = make(AutoencoderTransformer, n_components=3).fit(X).__getstate__()
    with pytest.raises(ValueError, match="its networks have n_components=3, its columns and attributes 2"):
        restore(AutoencoderTransformer, {**state, STATE_KEY: wider[STATE_KEY]})


def test_a_state_restores_on_the_cpu_whatever_device_it_came_from(state):
    restored = restore(AutoencoderTransformer, state)
    assert all(tensor.device.type == "cpu" for tensor in restored._networks().state_dict().values())
    assert isinstance(restored.encoder_, torch.nn.Module)


def test_a_deep_copy_keeps_partial_fits_sample_and_streams_on_as_the_original_a_pickle_does_not(X):
    original = make(VAEOutlierDetector)
    for start in range(0, 60, 20):
        original.partial_fit(X[start : start + 20])
    copied, unpickled = copy.deepcopy(original), pickle.loads(pickle.dumps(original))
    assert "_stream_sample" not in vars(unpickled)  # a saved model holds no data
    for model in (original, copied, unpickled):
        model.partial_fit(X[60:])
    assert copied.offset_ == original.offset_
    np.testing.assert_array_equal(copied.decision_function(X), original.decision_function(X))
    assert unpickled.offset_ != original.offset_  # its sample holds only the rows seen since
