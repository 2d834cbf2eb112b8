"""save and load: identical models back, and files that can describe a model but never run code."""

import io
import json
import pickle
import warnings
import zipfile

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError

import skvae
from skvae import (
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    VAEImputer,
    VAEOutlierDetector,
    VAETransformer,
    load,
    save,
)
from skvae._saved_attributes import ATTRIBUTES

ESTIMATORS = [
    AutoencoderTransformer,
    VAETransformer,
    AutoencoderOutlierDetector,
    VAEOutlierDetector,
    VAEImputer,
]
DETECTORS = (AutoencoderOutlierDetector, VAEOutlierDetector)


@pytest.fixture(scope="module")
def X():
    rng = np.random.RandomState(0)
    return rng.normal(size=(60, 2)) @ rng.normal(size=(2, 5)) + 0.1 * rng.normal(size=(60, 5))


def make(estimator_class, **params):
    if issubclass(estimator_class, VAETransformer):
        params.setdefault("n_importance_samples", 8)
    params = {"n_components": 2, "hidden_layer_sizes": (8, 4), "max_iter": 5, "random_state": 0, **params}
    return estimator_class(**params)


def outputs(estimator, X):
    if isinstance(estimator, VAEImputer):
        X_missing = X.copy()
        X_missing[::3, 1] = X_missing[1::4, 3] = np.nan
        return {
            "transform": estimator.transform(X_missing),
            "score_samples": estimator.score_samples(X_missing),
            "sample": estimator.sample(4, random_state=0),
        }
    results = {
        "transform": estimator.transform(X),
        "score_samples": estimator.score_samples(X),
        "inverse_transform": estimator.inverse_transform(estimator.transform(X)),
    }
    if isinstance(estimator, DETECTORS):
        for method in ("decision_function", "predict", "feature_contributions"):
            results[method] = getattr(estimator, method)(X)
    if isinstance(estimator, VAETransformer):
        results["sample"] = estimator.sample(4, random_state=0)
    return results


def saved(estimator, tmp_path, name="model.skvae"):
    path = tmp_path / name
    save(estimator, path)
    return path


def rewrite(path, replace=None, drop=(), add=None, metadata=None):
    """Copy a skvae file with members replaced, dropped or added, or its JSON edited."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    if metadata is not None:
        content = json.loads(members["skvae.json"])
        metadata(content)
        members["skvae.json"] = json.dumps(content).encode()
    members.update(replace or {})
    members.update(add or {})
    for name in drop:
        del members[name]
    tampered = path.with_name("tampered.skvae")
    with zipfile.ZipFile(tampered, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return tampered


def npy(array, allow_pickle=False):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


# -- round trips ----------------------------------------------------------------


@pytest.mark.parametrize("estimator_class", ESTIMATORS)
@pytest.mark.parametrize("early_stopping", [False, True])
def test_a_loaded_model_gives_identical_outputs(estimator_class, early_stopping, X, tmp_path):
    estimator = make(estimator_class, early_stopping=early_stopping).fit(X)
    loaded = load(saved(estimator, tmp_path))
    assert type(loaded) is estimator_class
    assert loaded.get_params() == estimator.get_params()  # hidden_layer_sizes comes back a tuple
    expected = outputs(estimator, X)
    for method, result in outputs(loaded, X).items():
        np.testing.assert_array_equal(result, expected[method], err_msg=method)
    for name in ATTRIBUTES:
        assert hasattr(loaded, name) == hasattr(estimator, name), name
        if hasattr(estimator, name):
            np.testing.assert_array_equal(getattr(loaded, name), getattr(estimator, name), err_msg=name)
    for network in loaded._networks().values():
        assert not network.training
        assert all(tensor.device.type == "cpu" for tensor in network.state_dict().values())


@pytest.mark.parametrize("estimator_class", ESTIMATORS)
def test_partial_fit_after_loading_goes_on_with_adams_state_as_without_the_round_trip(
    estimator_class, X, tmp_path
):
    estimator = make(estimator_class).fit(X)
    loaded = load(saved(estimator, tmp_path))
    loaded.partial_fit(X[:40])
    estimator.partial_fit(X[:40])
    assert loaded.n_iter_ == estimator.n_iter_ and len(loaded.loss_curve_) == loaded.n_iter_
    for a, b in zip(loaded._networks().parameters(), estimator._networks().parameters(), strict=True):
        assert torch.equal(a, b)
    warm = load(saved(estimator, tmp_path)).set_params(warm_start=True).fit(X)
    assert warm.n_iter_ == 2 * estimator.n_iter_ - 1


def test_a_file_without_adams_state_continues_with_a_fresh_optimizer(X, tmp_path):
    estimator = make(VAETransformer).fit(X)
    path = saved(estimator, tmp_path)
    with zipfile.ZipFile(path) as archive:
        moments = [name for name in archive.namelist() if name.startswith("optimizer/")]
    older = rewrite(path, drop=moments, metadata=lambda m: (m.pop("optimizer"), m.update(format_version=1)))
    loaded = load(older)
    assert loaded._optimizer is None
    loaded.partial_fit(X)
    assert loaded.n_iter_ == estimator.n_iter_ + 1 and np.all(np.isfinite(loaded.score_samples(X)))


def test_dataframe_feature_names_and_output_config_survive(X, tmp_path):
    frame = pd.DataFrame(X, columns=[f"sensor_{i}" for i in range(5)])
    detector = make(AutoencoderOutlierDetector).set_output(transform="pandas").fit(frame)
    loaded = load(saved(detector, tmp_path))
    assert list(loaded.feature_names_in_) == list(frame.columns)
    assert loaded.feature_names_in_.dtype == object
    codes = loaded.transform(frame)
    assert isinstance(codes, pd.DataFrame) and list(codes.columns) == list(detector.get_feature_names_out())
    contributions = loaded.feature_contributions(frame)
    assert list(contributions.columns) == list(frame.columns)
    with pytest.raises(ValueError, match="Feature names must be in the same order"):
        loaded.transform(frame[frame.columns[::-1]])


def test_the_file_holds_json_and_plain_arrays_only(X, tmp_path):
    path = saved(make(VAEOutlierDetector).fit(X), tmp_path)
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        metadata = json.loads(archive.read("skvae.json"))
        for name in names[1:]:
            assert name.startswith(("tensors/", "optimizer/")) and name.endswith(".npy")
            assert np.load(io.BytesIO(archive.read(name)), allow_pickle=False).dtype == np.float32
    assert names[0] == "skvae.json"
    tensors = [name for name in names if name.startswith("tensors/")]
    assert {name.split("/")[1] for name in tensors} == {"encoder", "decoder", "likelihood"}
    moments = [name for name in names if name.startswith("optimizer/")]
    assert {name.split("/")[2] for name in moments} == {"step.npy", "exp_avg.npy", "exp_avg_sq.npy"}
    assert set(metadata["optimizer"]) == {"learning_rate", "weight_decay", "moments"}
    assert metadata["class"] == "VAEOutlierDetector"
    assert set(metadata["versions"]) == {"skvae", "scikit-learn", "torch"}


@pytest.mark.parametrize("estimator_class", ESTIMATORS)
@pytest.mark.parametrize(
    "params", [{}, {"early_stopping": True}, {"activation": "tanh", "hidden_layer_sizes": ()}]
)
def test_every_fitted_attribute_is_saved(estimator_class, params, X):
    """A fitted attribute that save does not know would be lost: add it to _saved_attributes.ATTRIBUTES."""
    frame = pd.DataFrame(X, columns=list("abcde"))
    estimator = make(estimator_class, **params).set_output(transform="pandas")
    before = set(vars(estimator))
    estimator.fit(frame)
    networks = {f"{name}_" for name in estimator._networks()}
    added = set(vars(estimator)) - before
    # The table's columns and the networks' architecture are saved apart, under "columns" and "architecture".
    saved = set(ATTRIBUTES) | {"_table", "_fitted_architecture"}
    assert added - networks - {"_optimizer"} <= saved, added - networks - saved


def test_an_imputer_keeps_its_indicator_columns_and_empty_features(X, tmp_path):
    frame = pd.DataFrame(X, columns=list("abcde")).assign(
        kind=pd.Categorical(np.where(X[:, 0] > 0, "high", "low")), never=np.nan
    )
    frame.loc[::4, "kind"] = np.nan
    frame.loc[1::5, "b"] = np.nan
    imputer = make(VAEImputer, add_indicator=True, keep_empty_features=True).set_output(transform="pandas")
    imputer.fit(frame)
    loaded = load(saved(imputer, tmp_path))
    np.testing.assert_array_equal(loaded.indicator_.features_, imputer.indicator_.features_)
    pd.testing.assert_frame_equal(loaded.transform(frame), imputer.transform(frame))
    assert list(loaded.get_feature_names_out()) == list(imputer.get_feature_names_out())


def test_an_imputer_of_pandas_na_is_saved_and_loaded(X, tmp_path):
    X_missing = X.copy()
    X_missing[::3, 2] = np.nan
    imputer = make(VAEImputer, missing_values=pd.NA).fit(X_missing)
    loaded = load(saved(imputer, tmp_path))
    assert loaded.missing_values is pd.NA
    np.testing.assert_array_equal(loaded.transform(X_missing), imputer.transform(X_missing))


def test_an_imputer_drawing_from_the_posterior_goes_on_with_the_next_draw(X, tmp_path):
    X_missing = X.copy()
    X_missing[::3, 2] = np.nan
    imputer = make(VAEImputer, sample_posterior=True).fit(X_missing)
    imputer.transform(X_missing)  # the first draw
    loaded = load(saved(imputer, tmp_path))
    np.testing.assert_array_equal(loaded.transform(X_missing), imputer.transform(X_missing))


@pytest.mark.parametrize("estimator_class", ESTIMATORS)
def test_a_loaded_model_has_the_networks_it_was_fitted_with_whatever_set_params_changed_since(
    estimator_class, X, tmp_path
):
    estimator = make(estimator_class).fit(X)
    expected = outputs(estimator, X)
    estimator.set_params(activation="tanh", hidden_layer_sizes=(3,), n_components=3)
    loaded = load(saved(estimator, tmp_path))
    assert loaded.get_params() == estimator.get_params()
    for method, result in outputs(loaded, X).items():
        np.testing.assert_array_equal(result, expected[method], err_msg=method)


@pytest.mark.parametrize("add_indicator", [False, True])
def test_an_imputer_keeps_the_indicator_it_was_fitted_with_whatever_set_params_changed_since(
    add_indicator, X, tmp_path
):
    X_missing = X.copy()
    X_missing[::3, 2] = np.nan
    imputer = make(VAEImputer, add_indicator=add_indicator).fit(X_missing)
    expected = imputer.transform(X_missing)
    loaded = load(saved(imputer.set_params(add_indicator=not add_indicator), tmp_path))
    np.testing.assert_array_equal(loaded.transform(X_missing), expected)


def test_a_boolean_mask_of_categorical_features_round_trips(X, tmp_path):
    X = np.column_stack([X, np.arange(len(X)) % 3])
    mask = np.array([False] * 5 + [True])
    estimator = make(AutoencoderTransformer, categorical_features=mask).fit(X)
    loaded = load(saved(estimator, tmp_path))
    assert loaded.categorical_features == mask.tolist()
    np.testing.assert_array_equal(loaded.transform(X), estimator.transform(X))


@pytest.mark.parametrize(
    "tamper, match",
    [
        (lambda m: m["attributes"].update({"indicator_": [0, 7]}), r"indicator_ marks columns \[0, 7\]"),
        (lambda m: m["attributes"].update({"indicator_": "os.system"}), "invalid value for indicator_"),
        (lambda m: m["attributes"].pop("_n_draws"), "missing attributes"),
    ],
)
def test_a_tampered_imputer_file_is_refused(tamper, match, X, tmp_path):
    X_missing = X.copy()
    X_missing[::3, 2] = np.nan
    imputer = make(VAEImputer, add_indicator=True).fit(X_missing)
    with pytest.raises(ValueError, match=match):
        load(rewrite(saved(imputer, tmp_path), metadata=tamper))


@pytest.mark.parametrize(
    "tamper, match",
    [
        (lambda m: m["attributes"].update({"_surprise_divisor": [1.0]}), "residual correction holds"),
        (lambda m: m["attributes"].update({"offset_": float("nan")}), "invalid value for offset_"),
        (
            lambda m: m["attributes"].update({"column_log_likelihood_": [float("-inf")] * 5}),
            "invalid value for column_log_likelihood_",
        ),
        (lambda m: m["attributes"].update({"n_samples_seen_": [10, -1, 10, 10, 10]}), "invalid value"),
        (lambda m: m["attributes"].update({"n_samples_seen_": [10]}), "n_samples_seen_ has 1 entries"),
        (lambda m: m["attributes"].pop("_n_unlisted_seen"), "come together"),
        (
            lambda m: m["attributes"].update({"_n_unlisted_seen": [0, 0, 0, 0, 10**6]}),
            "counts more cells than n_samples_seen_",
        ),
        (lambda m: m["attributes"].update({"_residual_weights": [[1.0]]}), "residual correction holds"),
        (lambda m: m["attributes"].update({"_residual_weights": None}), "come together"),
        (lambda m: m["attributes"].update({"_residual_weights": "os.system"}), "invalid value"),
        (lambda m: m["attributes"].update({"_anchor_codes": [[0.5]] * 3}), r"_anchor_codes holds \(3, 1\)"),
        (lambda m: m["attributes"].update({"_anchor_codes": []}), r"_anchor_codes holds \(0,\)"),
        (
            lambda m: m["attributes"]["_anchor_codes"][0].__setitem__(0, float("nan")),
            "_anchor_codes holds non-finite codes",
        ),
        (
            lambda m: m["attributes"]["_surprise_divisor"].__setitem__(0, 0.0),
            "divisors that are not positive",
        ),
        (
            lambda m: m["attributes"]["_residual_weights"][0].__setitem__(0, float("inf")),
            "non-finite weights",
        ),
    ],
)
def test_a_detector_file_with_a_tampered_residual_correction_is_refused(tamper, match, X, tmp_path):
    detector = make(VAEOutlierDetector).fit(X)
    with pytest.raises(ValueError, match=match):
        load(rewrite(saved(detector, tmp_path), metadata=tamper))


# -- what save refuses ------------------------------------------------------------


def test_save_refuses_unfitted_and_foreign_estimators(X, tmp_path):
    with pytest.raises(NotFittedError):
        save(AutoencoderTransformer(), tmp_path / "unfitted.skvae")
    with pytest.raises(TypeError, match="skvae estimators"):
        save(PCA().fit(X), tmp_path / "pca.skvae")


def test_save_refuses_parameters_json_cannot_hold(X, tmp_path):
    estimator = AutoencoderTransformer(max_iter=2, random_state=np.random.RandomState(0)).fit(X)
    with pytest.raises(ValueError, match="random_state"):
        save(estimator, tmp_path / "model.skvae")


def with_kind(X, labels):
    """X as a frame with one more column, "kind", a categorical column of these labels in turn."""
    kinds = pd.Series(labels, dtype=object).iloc[np.arange(len(X)) % len(labels)]
    return pd.DataFrame(X, columns=list("abcde")).assign(kind=pd.Categorical(kinds.to_numpy()))


@pytest.mark.parametrize(
    "labels, label_type",
    [
        (pd.interval_range(0, 3).tolist(), "Interval"),  # what pd.cut makes
        (pd.to_datetime(["2024-01-01", "2024-01-02"]).tolist(), "Timestamp"),
    ],
)
def test_save_refuses_category_labels_json_cannot_hold_naming_the_column_and_the_way_out(
    labels, label_type, X, tmp_path
):
    frame = with_kind(X, labels)
    estimator = make(AutoencoderTransformer).fit(frame)
    with pytest.raises(ValueError, match=rf"column 'kind'.* labels of type {label_type} .*pickle or joblib"):
        save(estimator, tmp_path / "model.skvae")
    assert list(tmp_path.iterdir()) == []  # refused before anything is written
    unpickled = pickle.loads(pickle.dumps(estimator))
    np.testing.assert_array_equal(unpickled.transform(frame), estimator.transform(frame))


@pytest.mark.parametrize("labels", [["high", "low"], [1, 2], [0.5, 1.5], [False, True]])
def test_str_int_float_and_bool_category_labels_come_back_as_they_were(labels, X, tmp_path):
    frame = with_kind(X, labels)
    estimator = make(AutoencoderTransformer).fit(frame)
    loaded = load(saved(estimator, tmp_path))
    assert loaded._table.categories == [labels]
    assert [type(label) for label in loaded._table.categories[0]] == [type(label) for label in labels]
    np.testing.assert_array_equal(loaded.transform(frame), estimator.transform(frame))


def refuse_random_state(monkeypatch, estimator):
    estimator.random_state = np.random.RandomState(0)
    return ValueError, "Cannot save the parameter random_state=RandomState"


def fail_writing_a_tensor(monkeypatch, estimator):
    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np.lib.format, "write_array", disk_full)
    return OSError, "No space left on device"


@pytest.mark.parametrize("failure", [refuse_random_state, fail_writing_a_tensor])
def test_a_failed_save_leaves_the_existing_file_as_it_was(failure, model, X, tmp_path, monkeypatch):
    path = saved(model, tmp_path)
    content = path.read_bytes()
    other = make(AutoencoderTransformer, random_state=1).fit(X)
    error, message = failure(monkeypatch, other)
    with pytest.raises(error, match=message):
        save(other, path)
    assert path.read_bytes() == content
    assert [entry.name for entry in tmp_path.iterdir()] == [path.name]  # no temporary file left
    np.testing.assert_array_equal(load(path).transform(X), model.transform(X))


# -- what load refuses ------------------------------------------------------------


class CreateMarker:
    """Unpickling this creates a file: proof that code ran."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return open, (str(self.path), "w")


@pytest.fixture
def payload(tmp_path):
    """A pickled object that would create tmp_path/marker if unpickled, and that marker."""
    marker = tmp_path / "marker"
    # The payload is live: unpickling it does create a marker.
    probe = tmp_path / "probe"
    pickle.loads(pickle.dumps(CreateMarker(probe))).close()
    assert probe.exists()
    return CreateMarker(marker), marker


@pytest.fixture(scope="module")
def model(X):
    return make(AutoencoderTransformer).fit(X)


def test_a_pickle_planted_in_place_of_a_tensor_is_refused_without_running(model, tmp_path, payload):
    obj, marker = payload
    path = rewrite(
        saved(model, tmp_path),
        replace={"tensors/encoder/0.weight.npy": npy(np.array([obj], dtype=object), allow_pickle=True)},
    )
    with pytest.raises(ValueError, match="tensors/encoder/0.weight.npy holds object"):
        load(path)
    assert not marker.exists()


@pytest.mark.parametrize("member", ["data.pkl", "tensors/encoder/extra.npy"])
def test_a_planted_extra_entry_is_refused_without_running(member, model, tmp_path, payload):
    obj, marker = payload
    path = rewrite(saved(model, tmp_path), add={member: pickle.dumps(obj)})
    with pytest.raises(ValueError, match="unexpected entries"):
        load(path)
    assert not marker.exists()


@pytest.mark.parametrize("class_name", ["os.system", "builtins.eval", "sklearn.decomposition.PCA", "PCA"])
def test_a_class_outside_the_allow_list_is_refused(class_name, model, tmp_path):
    path = rewrite(saved(model, tmp_path), metadata=lambda m: m.update({"class": class_name}))
    with pytest.raises(ValueError, match="not one of the skvae estimators"):
        load(path)


@pytest.mark.parametrize(
    "tamper, match",
    [
        (lambda m: m["attributes"].pop("n_iter_"), "missing attributes"),
        (lambda m: m["attributes"].update({"__class__": "os.system"}), "unknown attribute"),
        (lambda m: m["attributes"].update({"n_features_in_": "five"}), "invalid value for n_features_in_"),
        (lambda m: m["attributes"].update({"n_features_in_": 6}), "columns describe 5 features, not 6"),
        (lambda m: m["columns"].update({"n_columns": 6}), "invalid column description"),
        (lambda m: m["columns"].update({"center": [0.0]}), "invalid column description"),
        # A valid description of other columns (a categorical one): networks of another shape.
        (
            lambda m: m["columns"].update(
                {"categorical": [0], "categories": [["x", "y"]], "center": [0.0] * 4, "scale": [1.0] * 4}
            ),
            "its networks have n_features=5, its columns and attributes 6",
        ),
        # Checked against the file before anything of that size is allocated.
        (
            lambda m: (
                m["attributes"].update({"n_features_in_": 10**12})
                or m["columns"].update({"n_columns": 10**12})
            ),
            "invalid column description",
        ),
        (lambda m: m["params"].pop("alpha"), r"missing \['alpha'\]"),
        (lambda m: m["params"].update({"eval": "os.system"}), r"unknown \['eval'\]"),
        (lambda m: m["params"].update({"activation": "gelu"}), "invalid parameters"),
        (
            lambda m: m["params"].update({"n_components": 3}) or m["attributes"].update({"n_components_": 3}),
            "its networks have n_components=2, its columns and attributes 3",
        ),
        (lambda m: m["architecture"].update({"hidden_layer_sizes": [8, 3]}), "expected float32"),
        (lambda m: m["architecture"].update({"n_numeric": True}), "its networks have n_numeric=True"),
        (lambda m: m["architecture"].pop("n_numeric"), "its architecture has no n_numeric"),
        (lambda m: m["architecture"].update({"network": "conv"}), "network='conv' needs input_shape"),
        (
            lambda m: m["architecture"].update({"eval": "os.system"}),
            r"unknown architecture entries \['eval'\]",
        ),
        (lambda m: m.update({"architecture": []}), "'architecture' is not a dict"),
        (lambda m: m["attributes"].update({"n_components_": 0}), "invalid value for n_components_"),
        (lambda m: m["attributes"].update({"n_iter_": 2**62}), "invalid value for n_iter_"),
        (
            lambda m: m["attributes"].update({"_sklearn_output_config": {"transform": "excel"}}),
            "invalid value for _sklearn_output_config",
        ),
        # Each field of its own type: bool("false") would be True, int(1.7) 1.
        (lambda m: m["columns"].update({"centred": "false"}), "invalid column description"),
        (lambda m: m["columns"].update({"n_columns": 5.7}), "invalid column description"),
        (lambda m: m["columns"].update({"scale": ["1"] * 5}), "invalid column description"),
        (lambda m: m["columns"].update({"scale": [float("inf")] * 5}), "invalid column description"),
        (
            lambda m: m["columns"].update(
                {"categorical": [0], "categories": [[True, 1]], "center": [0.0] * 4, "scale": [1.0] * 4}
            ),
            "invalid column description",
        ),
        (lambda m: m["params"].update({"hidden_layer_sizes": {"pickle": "x"}}), "unexpected parameter"),
        (lambda m: m["optimizer"].update({"learning_rate": -1.0}), "the optimizer's learning_rate is -1.0"),
        (
            lambda m: m["optimizer"]["moments"].update({"99": ["step"]}),
            "invalid optimizer moments for parameter '99'",
        ),
        (
            lambda m: m["optimizer"]["moments"]["0"].append("os.system"),
            "invalid optimizer moments for parameter '0'",
        ),
        (lambda m: m["optimizer"].update({"eval": 1}), "'optimizer' is not Adam's"),
        (lambda m: m["optimizer"]["moments"].pop("0"), r"unexpected entries \['optimizer/0/exp_avg.npy'"),
        (lambda m: m.update({"format_version": 3}), r"format version 3 \(this skvae reads 1 and 2\)"),
        (lambda m: m.update({"format_version": True}), "format version True"),
        (
            lambda m: (m.update({"format_version": 3}), m["versions"].update({"skvae": "99.0"})),
            "format version 3 .*It was written by skvae 99.0: upgrade skvae",
        ),
        (lambda m: m.pop("params"), "'params' is missing"),
        (
            # A parameter a newer skvae added: the error says who wrote the file.
            lambda m: (m["params"].update({"new_option": 1}), m["versions"].update({"skvae": "99.0"})),
            r"unknown \['new_option'\]. It was written by skvae 99.0: upgrade skvae",
        ),
    ],
)
def test_tampered_metadata_is_refused(tamper, match, model, tmp_path):
    with pytest.raises(ValueError, match=match):
        load(rewrite(saved(model, tmp_path), metadata=tamper))


@pytest.mark.parametrize("seed", [-1, np.iinfo(np.int32).max, 2**70])
def test_a_seed_fit_could_not_have_drawn_is_refused(seed, model, tmp_path):
    """fit draws _seed in [0, 2**31 - 1); another would load, then overflow when training goes on."""
    with pytest.raises(ValueError, match="invalid value for _seed"):
        load(rewrite(saved(model, tmp_path), metadata=lambda m: m["attributes"].update({"_seed": seed})))


def test_the_largest_seed_fit_can_draw_loads_and_trains(model, X, tmp_path):
    seed = np.iinfo(np.int32).max - 1
    loaded = load(rewrite(saved(model, tmp_path), metadata=lambda m: m["attributes"].update({"_seed": seed})))
    loaded.partial_fit(X)
    assert loaded._seed == seed and loaded.n_iter_ == model.n_iter_ + 1


def damaged(path, member):
    """A copy of the file with one byte of ``member``'s compressed data flipped."""
    content = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    # The local header: 30 bytes, then the name and the extra field.
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    content[start + info.compress_size // 2] ^= 0xFF
    copy = path.with_name("damaged.skvae")
    copy.write_bytes(bytes(content))
    return copy


def test_a_damaged_member_is_refused(model, tmp_path):
    path = saved(model, tmp_path)
    with zipfile.ZipFile(path) as archive:
        members = archive.namelist()
    for member in members:
        with pytest.raises(ValueError, match=f"not a valid skvae file: {member} is damaged"):
            load(damaged(path, member))


def test_a_member_flagged_as_encrypted_is_refused_as_damaged(model, tmp_path):
    path = saved(model, tmp_path)
    content = bytearray(path.read_bytes())
    central = content.find(b"PK\x01\x02")  # the first member's entry in the central directory
    content[central + 8] |= 0x01  # its "encrypted" flag bit
    flagged = path.with_name("flagged.skvae")
    flagged.write_bytes(bytes(content))
    with pytest.raises(ValueError, match="not a valid skvae file: .* is damaged"):
        load(flagged)


@pytest.mark.parametrize("trusted", ["tests.test_networks.linear_pair", ("a", 1), 3])
def test_trusted_must_be_a_list_of_dotted_paths(model, tmp_path, trusted):
    # A string would trust every path it contains.
    with pytest.raises(TypeError, match="trusted must"):
        load(saved(model, tmp_path), trusted=trusted)


def test_missing_or_misshapen_tensors_are_refused(model, tmp_path):
    path = saved(model, tmp_path)
    with pytest.raises(ValueError, match=r"tensors missing \['tensors/decoder/0.bias.npy'\]"):
        load(rewrite(path, drop=["tensors/decoder/0.bias.npy"]))
    wrong_shape = npy(np.zeros((8, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="expected float32 \\(8, 5\\)"):
        load(rewrite(path, replace={"tensors/encoder/0.weight.npy": wrong_shape}))
    truncated = npy(np.zeros((8, 5), dtype=np.float32))[:-16]
    with pytest.raises(ValueError, match="0.weight.npy is not a plain array"):
        load(rewrite(path, replace={"tensors/encoder/0.weight.npy": truncated}))
    wrong_dtype = npy(np.zeros((8, 5), dtype=np.float64))
    with pytest.raises(ValueError, match="holds float64"):
        load(rewrite(path, replace={"tensors/encoder/0.weight.npy": wrong_dtype}))


@pytest.mark.parametrize(
    "content",
    [b"not a model", b"", npy(np.zeros(3)), json.dumps({"format": "skvae"}).encode()],
    ids=["text", "empty", "npy", "bare-json"],
)
def test_a_foreign_file_is_refused(content, tmp_path):
    path = tmp_path / "foreign.skvae"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="not a valid skvae file"):
        load(path)


def test_load_takes_a_path_and_says_so_of_anything_else():
    with pytest.raises(TypeError, match="expected str, bytes or os.PathLike object, not int"):
        load(3)


def test_foreign_zip_archives_are_refused(tmp_path, payload):
    obj, marker = payload
    torch.save({"weight": torch.zeros(2), "payload": obj}, tmp_path / "torch.pt")  # a zip with a pickle
    joblib.dump(obj, tmp_path / "model.joblib")
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as archive:
        archive.writestr("skvae.json", json.dumps({"format": "other"}))
    for name in ["torch.pt", "model.joblib", "other.zip"]:
        with pytest.raises(ValueError, match="not a valid skvae file"):
            load(tmp_path / name)
    assert not marker.exists()


def test_a_version_mismatch_warns(model, tmp_path, X):
    path = rewrite(
        saved(model, tmp_path), metadata=lambda m: m["versions"].update({"skvae": "0.0.1", "torch": "2.2.0"})
    )
    with pytest.warns(UserWarning, match=r"saved with skvae 0.0.1, torch 2.2.0 and is loaded with skvae"):
        loaded = load(path)
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))


def test_the_same_versions_load_silently(model, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load(saved(model, tmp_path))


def test_save_and_load_are_public():
    assert skvae.save is save and skvae.load is load
    assert {"save", "load"} <= set(skvae.__all__)


# -- pickle and joblib ------------------------------------------------------------


def test_pickled_state_holds_arrays_and_the_optimizer_moments(X):
    fitted = make(VAETransformer).fit(X)
    state = fitted.__getstate__()
    assert not any(isinstance(value, torch.nn.Module) for value in state.values())
    networks = state["_skvae_networks"]
    assert set(networks["networks"]) == {"encoder", "decoder", "likelihood"}
    assert networks["optimizer"]["moments"]  # partial_fit after unpickling continues Adam's state


def test_a_model_unpickled_under_inference_mode_goes_on_training(X):
    # A serving process may load its models under inference mode; partial_fit still trains them.
    fitted = make(VAETransformer).fit(X)
    with torch.inference_mode():
        restored = pickle.loads(pickle.dumps(fitted))
    before = restored.transform(X)
    restored.partial_fit(X)
    assert not np.array_equal(restored.transform(X), before)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device to fit on")
@pytest.mark.parametrize("estimator_class", ESTIMATORS)
def test_a_model_fitted_on_a_gpu_unpickles_on_a_cpu_only_machine(estimator_class, X, monkeypatch):
    fitted = make(estimator_class, device="cuda").fit(X)
    data = pickle.dumps(fitted)
    assert next(fitted.encoder_.parameters()).is_cuda  # pickling did not move the model itself
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    restored = pickle.loads(data)
    monkeypatch.undo()
    assert all(p.device.type == "cpu" for p in restored._networks().parameters())
    expected = outputs(fitted, X)
    for method, result in outputs(restored, X).items():
        if method != "predict":  # a row on the threshold may flip between devices
            np.testing.assert_allclose(result, expected[method], rtol=1e-4, atol=1e-4, err_msg=method)
    restored.partial_fit(X)  # back on the GPU, Adam's state moved along
    assert next(restored.encoder_.parameters()).is_cuda
    # The same step as without the round trip: the moments went on.
    fitted.partial_fit(X)
    np.testing.assert_allclose(restored.transform(X), fitted.transform(X), rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device to fit on")
def test_a_failed_call_that_moved_a_loaded_model_to_a_gpu_leaves_it_as_it_was(X, monkeypatch):
    fitted = make(AutoencoderTransformer).fit(X)
    streamed, failed = (pickle.loads(pickle.dumps(fitted)) for _ in range(2))  # on the CPU

    def fail(rows):
        raise ValueError("calibration failed")

    failed.set_params(device="cuda")
    monkeypatch.setattr(failed, "_after_fit", fail)
    with pytest.raises(ValueError, match="calibration failed"):
        failed.partial_fit(X)  # moved to the GPU and trained before it failed
    monkeypatch.undo()
    assert all(p.device.type == "cpu" for p in failed._networks().parameters())
    # Adam's moments too: the next call goes on as if the failed one had not been made.
    failed.set_params(device="cpu")
    np.testing.assert_array_equal(failed.partial_fit(X).transform(X), streamed.partial_fit(X).transform(X))


@pytest.mark.parametrize("likelihood", ["gaussian", "gaussian_shared", "student_t", "bernoulli"])
def test_every_vae_likelihood_round_trips(likelihood, X, tmp_path):
    X = 1 / (1 + np.exp(-X))  # in [0, 1], for the Bernoulli
    vae = make(VAETransformer, likelihood=likelihood, kl_warmup_steps=3).fit(X)
    loaded = load(saved(vae, tmp_path))
    assert loaded.get_params() == vae.get_params()
    expected = outputs(vae, X)
    for method, result in outputs(loaded, X).items():
        np.testing.assert_array_equal(result, expected[method], err_msg=method)


def test_n_components_auto_round_trips_as_the_number_it_chose(X, tmp_path):
    detector = make(VAEOutlierDetector, n_components="auto").fit(X)
    assert detector.n_components_ == 2  # sqrt(5) rounded
    loaded = load(saved(detector, tmp_path))
    assert loaded.n_components == "auto" and loaded.n_components_ == 2
    for method, value in outputs(detector, X).items():
        np.testing.assert_array_equal(outputs(loaded, X)[method], value, err_msg=method)


def test_files_and_pickles_from_before_n_components_underscore_still_load(X, tmp_path):
    # Written when the code size was always the n_components parameter.
    detector = make(VAEOutlierDetector, n_components=3).fit(X)
    old_file = rewrite(saved(detector, tmp_path), metadata=lambda m: m["attributes"].pop("n_components_"))
    assert load(old_file).n_components_ == 3
    state = detector.__getstate__()
    del state["n_components_"]
    unpickled = VAEOutlierDetector.__new__(VAEOutlierDetector)
    unpickled.__setstate__(state)
    assert unpickled.n_components_ == 3
    np.testing.assert_array_equal(unpickled.score_samples(X), detector.score_samples(X))


def test_files_from_before_column_log_likelihood_score_incomplete_rows_on_their_observed_cells(X, tmp_path):
    detector = make(VAEOutlierDetector).fit(X)
    incomplete = X[:20].copy()
    incomplete[:, 1] = np.nan
    scores = detector.score_samples(incomplete)
    np.testing.assert_array_equal(load(saved(detector, tmp_path)).score_samples(incomplete), scores)
    # Written when a missing cell added nothing to the score.
    drop = lambda m: m["attributes"].pop("column_log_likelihood_")  # noqa: E731
    old = load(rewrite(saved(detector, tmp_path), metadata=drop))
    np.testing.assert_allclose(
        old.score_samples(incomplete), scores - detector.column_log_likelihood_[1], rtol=1e-5
    )
    np.testing.assert_array_equal(old.score_samples(X), detector.score_samples(X))


@pytest.mark.parametrize("detector_class", [AutoencoderOutlierDetector, VAEOutlierDetector])
def test_a_loaded_detector_counts_a_category_not_seen_in_fit_as_the_saved_one(detector_class, X, tmp_path):
    detector, new, _ = detector_and_a_new_category(detector_class, X)
    with pytest.warns(UserWarning, match="not seen in fit"):
        scores = detector.score_samples(new)
    loaded = load(saved(detector, tmp_path))
    np.testing.assert_array_equal(loaded.n_samples_seen_, detector.n_samples_seen_)
    with pytest.warns(UserWarning, match="not seen in fit"):
        np.testing.assert_array_equal(loaded.score_samples(new), scores)


@pytest.mark.parametrize("detector_class", [AutoencoderOutlierDetector, VAEOutlierDetector])
def test_files_from_before_n_samples_seen_read_a_category_not_seen_in_fit_as_missing(
    detector_class, X, tmp_path
):
    detector, new, as_missing = detector_and_a_new_category(detector_class, X)

    def before_the_counts(metadata):
        del metadata["attributes"]["n_samples_seen_"], metadata["attributes"]["_n_unlisted_seen"]

    old = load(rewrite(saved(detector, tmp_path), metadata=before_the_counts))
    with pytest.warns(UserWarning, match="read those cells as missing.$"):
        np.testing.assert_array_equal(old.score_samples(new), detector.score_samples(as_missing))


def detector_and_a_new_category(detector_class, X):
    """A detector fitted on X with a categorical column, rows with a category it did not see, and
    those rows with the cells missing."""
    frame = pd.DataFrame(X, columns=list("abcde")).assign(
        kind=pd.Categorical(np.where(X[:, 0] > 0, "p", "q"))
    )
    new = frame.iloc[:10].assign(kind=pd.Categorical(["p", "r"] * 5))
    return make(detector_class).fit(frame), new, new.assign(kind=new["kind"].where(new["kind"] != "r"))


def test_files_from_before_the_architecture_was_saved_are_rebuilt_from_their_parameters(X, tmp_path):
    estimator = make(VAEOutlierDetector).fit(X)
    old = load(rewrite(saved(estimator, tmp_path), metadata=lambda m: m.pop("architecture")))
    for method, value in outputs(estimator, X).items():
        np.testing.assert_array_equal(outputs(old, X)[method], value, err_msg=method)


def test_a_file_from_before_the_architecture_was_saved_with_a_conv_network_and_no_input_shape_is_refused(
    model, tmp_path
):
    def tamper(metadata):
        metadata.pop("architecture")
        metadata["params"]["network"] = "conv"

    with pytest.raises(ValueError, match="not a valid skvae file: invalid architecture .*needs input_shape"):
        load(rewrite(saved(model, tmp_path), metadata=tamper))
