"""skops.io: whole pipelines saved and loaded, trusting skvae's classes and nothing else."""

import json
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skvae
from skvae import AutoencoderOutlierDetector, AutoencoderTransformer, VAEOutlierDetector, VAETransformer

sio = pytest.importorskip("skops.io", reason="the skops extra is not installed")
from skops.io.exceptions import UntrustedTypesFoundException  # noqa: E402

DATA = Path(__file__).parent / "data"
TRANSFORMERS = [AutoencoderTransformer, VAETransformer]
DETECTORS = [AutoencoderOutlierDetector, VAEOutlierDetector]


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 2)) @ rng.normal(size=(2, 6)) + 0.1 * rng.normal(size=(120, 6))
    return X, (X[:, 0] > 0).astype(int)


def make(estimator_class):
    params = {"n_components": 2, "hidden_layer_sizes": (8,), "max_iter": 3, "random_state": 0}
    if issubclass(estimator_class, VAETransformer):
        params["n_importance_samples"] = 8
    return estimator_class(**params)


def qualified_name(estimator_class):
    return f"{estimator_class.__module__}.{estimator_class.__name__}"


def outputs(pipeline, X):
    if hasattr(pipeline, "predict_proba"):
        return {"predict_proba": pipeline.predict_proba(X), "codes": pipeline[:-1].transform(X)}
    results = {"score_samples": pipeline.score_samples(X)}
    if hasattr(pipeline, "predict"):
        results.update(predict=pipeline.predict(X), decision_function=pipeline.decision_function(X))
    else:
        results["transform"] = pipeline.transform(X)
    return results


def pipelines():
    for cls in TRANSFORMERS:
        yield pytest.param(cls, True, id=f"{cls.__name__}-classifier")
        yield pytest.param(cls, False, id=f"{cls.__name__}-last")
    for cls in DETECTORS:
        yield pytest.param(cls, False, id=cls.__name__)


@pytest.mark.parametrize("estimator_class, with_classifier", list(pipelines()))
def test_a_pipeline_round_trips_trusting_only_skvae(estimator_class, with_classifier, data, tmp_path):
    X, y = data
    steps = [StandardScaler(), make(estimator_class)] + ([LogisticRegression()] if with_classifier else [])
    pipeline = make_pipeline(*steps).fit(X, y)
    path = tmp_path / "pipeline.skops"
    sio.dump(pipeline, path)

    untrusted = sio.get_untrusted_types(file=path)
    assert untrusted == [qualified_name(estimator_class)]  # no torch type, nothing rebuilt through pickle
    with pytest.raises(UntrustedTypesFoundException):
        sio.load(path)  # skops trusts no third-party class by default
    loaded = sio.load(path, trusted=untrusted)
    expected = outputs(pipeline, X)
    for method, result in outputs(loaded, X).items():
        np.testing.assert_array_equal(result, expected[method], err_msg=method)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device to fit on")
@pytest.mark.parametrize("estimator_class", TRANSFORMERS + DETECTORS)
def test_a_pipeline_fitted_on_a_gpu_round_trips_onto_the_cpu(estimator_class, data, tmp_path):
    X, _ = data
    estimator = make(estimator_class).set_params(device="cuda")
    pipeline = make_pipeline(StandardScaler(), estimator).fit(X)
    path = tmp_path / "pipeline.skops"
    sio.dump(pipeline, path)
    assert sio.get_untrusted_types(file=path) == [qualified_name(estimator_class)]
    loaded = sio.load(path, trusted=[qualified_name(estimator_class)])
    assert all(p.device.type == "cpu" for p in loaded[-1]._networks().parameters())
    expected = outputs(pipeline, X)
    for method, result in outputs(loaded, X).items():
        if method != "predict":  # a row on the threshold may flip between devices
            np.testing.assert_allclose(result, expected[method], rtol=1e-4, atol=1e-4, err_msg=method)


def test_feature_names_and_pandas_output_survive(data):
    X, _ = data
    frame = pd.DataFrame(X, columns=[f"sensor_{i}" for i in range(X.shape[1])])
    pipeline = make_pipeline(StandardScaler(), make(VAEOutlierDetector)).set_output(transform="pandas")
    pipeline.fit(frame)
    content = sio.dumps(pipeline)
    assert sio.get_untrusted_types(data=content) == [qualified_name(VAEOutlierDetector)]
    loaded = sio.loads(content, trusted=[qualified_name(VAEOutlierDetector)])
    assert list(loaded[-1].feature_names_in_) == list(frame.columns)
    np.testing.assert_array_equal(loaded.score_samples(frame), pipeline.score_samples(frame))
    contributions = loaded[-1].feature_contributions(loaded[:-1].transform(frame))
    assert list(contributions.columns) == list(frame.columns)


def test_a_fitted_estimator_round_trips_through_dumps_and_loads(data):
    X, _ = data
    vae = make(VAETransformer).fit(X)
    loaded = sio.loads(sio.dumps(vae), trusted=[qualified_name(VAETransformer)])
    np.testing.assert_array_equal(loaded.sample(3, random_state=0), vae.sample(3, random_state=0))
    loaded.partial_fit(X)  # Adam's state came along
    assert loaded.n_iter_ == vae.n_iter_ + 1


def test_a_loaded_estimator_has_the_networks_it_was_fitted_with_whatever_set_params_changed_since(data):
    X, _ = data
    detector = make(AutoencoderOutlierDetector).fit(X)
    expected = detector.score_samples(X)
    detector.set_params(activation="tanh", hidden_layer_sizes=(3,))
    loaded = sio.loads(sio.dumps(detector), trusted=[qualified_name(AutoencoderOutlierDetector)])
    np.testing.assert_array_equal(loaded.score_samples(X), expected)


def edit_schema(path, edit):
    """Copy a skops file with its schema.json edited."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    schema = json.loads(members["schema.json"])
    edit(schema)
    members["schema.json"] = json.dumps(schema).encode()
    tampered = path.with_name("tampered.skops")
    with zipfile.ZipFile(tampered, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return tampered


def estimator_node(schema):
    """The schema node of the pipeline's second step."""
    steps = schema["content"]["content"]["steps"]["content"]
    return steps[1]["content"][1]


@pytest.fixture
def dumped(data, tmp_path):
    X, _ = data
    pipeline = make_pipeline(StandardScaler(), make(AutoencoderTransformer)).fit(X)
    path = tmp_path / "pipeline.skops"
    sio.dump(pipeline, path)
    return path


def test_a_class_swapped_into_the_file_is_refused_as_skops_refuses_one(dumped):
    tampered = edit_schema(dumped, lambda s: estimator_node(s).update(__module__="os", __class__="system"))
    assert "os.system" in sio.get_untrusted_types(file=tampered)
    with pytest.raises(UntrustedTypesFoundException, match="os.system"):
        sio.load(tampered, trusted=[qualified_name(AutoencoderTransformer)])


def test_networks_that_do_not_match_their_description_are_refused(dumped):
    def widen(schema):
        state = estimator_node(schema)["content"]["content"]["_skvae_networks"]["content"]
        # A fresh __id__: skops loads a value it has seen once (the int 6) from its first node.
        state["architecture"]["content"]["n_features"].update(content="7", __id__=7)

    tampered = edit_schema(dumped, widen)
    with pytest.raises(ValueError, match=r"expected float32 \(8, 7\)"):
        sio.load(tampered, trusted=[qualified_name(AutoencoderTransformer)])


def test_a_file_written_by_the_first_state_version_still_loads():
    expected = np.load(DATA / "v1_expected.npz")
    X = expected["X"]
    with warnings.catch_warnings():
        # Written by other versions of scikit-learn and skvae than the ones testing it, one day.
        warnings.simplefilter("ignore")
        pipeline = sio.load(DATA / "v1_pipeline.skops", trusted=[qualified_name(VAEOutlierDetector)])
        detector = skvae.load(DATA / "v1_detector.skvae")
    np.testing.assert_allclose(pipeline.score_samples(X), expected["pipeline_scores"], rtol=1e-6)
    np.testing.assert_allclose(detector.score_samples(X), expected["detector_scores"], rtol=1e-6)
