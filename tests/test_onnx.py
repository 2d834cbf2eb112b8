"""skvae.onnx: pipelines holding skvae estimators, exported, give skvae's outputs in onnxruntime."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from skvae import (
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    VAEImputer,
    VAEOutlierDetector,
    VAETransformer,
)

pytest.importorskip("skl2onnx", reason="the onnx extra is not installed")
onnxruntime = pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")
from skvae.onnx import register_converters, to_onnx  # noqa: E402

TOLERANCE = 1e-4  # float32, as skvae computes


@pytest.fixture(autouse=True)
def quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 3)) @ rng.normal(size=(3, 8)) + 0.1 * rng.normal(size=(300, 8))
    X[:5] += 6 * rng.normal(size=(5, 8))  # a few outliers
    return X.astype(np.float32), (X[:, 0] > 0).astype(int)


def make(estimator_class, **params):
    params = {"max_iter": 20, "random_state": 0, **params}
    if issubclass(estimator_class, VAETransformer):
        params.setdefault("n_importance_samples", 16)
    return estimator_class(**params)


def run(model, X, **kwargs):
    session = onnxruntime.InferenceSession(
        to_onnx(model, X[:1], **kwargs).SerializeToString(), providers=["CPUExecutionProvider"]
    )
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(None, {"X": X}), strict=True))


@pytest.mark.parametrize("estimator_class", [AutoencoderTransformer, VAETransformer])
def test_a_classifier_on_the_codes_gives_skvaes_probabilities(estimator_class, data):
    X, y = data
    model = make_pipeline(StandardScaler(), make(estimator_class, n_components=3), LogisticRegression())
    model.fit(X, y)
    outputs = run(model, X, options={LogisticRegression: {"zipmap": False}})
    np.testing.assert_allclose(outputs["probabilities"], model.predict_proba(X), atol=TOLERANCE)
    np.testing.assert_array_equal(outputs["label"], model.predict(X))


@pytest.mark.parametrize("estimator_class", [AutoencoderTransformer, VAETransformer])
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"activation": "tanh", "hidden_layer_sizes": (16, 8)},
        {"activation": "logistic"},
        {"hidden_layer_sizes": ()},
    ],
    ids=["relu", "tanh-deep", "logistic", "linear"],
)
def test_the_codes_are_skvaes(estimator_class, params, data):
    X, _ = data
    model = make_pipeline(StandardScaler(), make(estimator_class, n_components=3, **params)).fit(X)
    np.testing.assert_allclose(run(model, X)["variable"], model.transform(X), atol=TOLERANCE)


def assert_scores_and_labels_are_skvaes(outputs, model, X):
    """The graph's scores are the decision function's, and its labels predict's off the threshold."""
    decision = model.decision_function(X)
    np.testing.assert_allclose(outputs["scores"][:, 0], decision, rtol=TOLERANCE, atol=TOLERANCE)
    clear = np.abs(decision) > TOLERANCE * np.maximum(1, np.abs(decision))  # not on the threshold
    np.testing.assert_array_equal(outputs["label"][clear, 0], model.predict(X)[clear])


def detectors():
    yield pytest.param(AutoencoderOutlierDetector, {}, StandardScaler, id="autoencoder")
    for likelihood in ("student_t", "gaussian", "gaussian_shared"):
        yield pytest.param(VAEOutlierDetector, {"likelihood": likelihood}, StandardScaler, id=likelihood)
    yield pytest.param(VAEOutlierDetector, {"likelihood": "bernoulli"}, MinMaxScaler, id="bernoulli")


@pytest.mark.parametrize("estimator_class, params, scaler", list(detectors()))
def test_a_detector_gives_labels_and_scores_as_skl2onnx_gives_isolation_forests(
    estimator_class, params, scaler, data
):
    X, _ = data
    model = make_pipeline(scaler(), make(estimator_class, **params)).fit(X)
    outputs = run(model, X)
    assert outputs["scores"].shape == outputs["label"].shape == (len(X), 1)
    # The VAE's score uses the same fixed importance noise: a constant of the graph.
    assert_scores_and_labels_are_skvaes(outputs, model, X)
    assert set(np.unique(outputs["label"])) == {-1, 1}


def with_missing_cells(X, rate=0.2, seed=1):
    X = X.copy()
    X[np.random.RandomState(seed).rand(*X.shape) < rate] = np.nan
    return X


@pytest.mark.parametrize("fitted_on", ["complete rows", "incomplete rows"])
@pytest.mark.parametrize("estimator_class, params, scaler", list(detectors()))
def test_rows_with_missing_cells_are_scored_as_skvae_scores_them(
    estimator_class, params, scaler, fitted_on, data
):
    # Fitted on complete rows, a model reads a missing cell at its own reconstruction (ten rounds);
    # fitted on incomplete ones, at the training mean. The VAE counts each missing cell as typical.
    X, _ = data
    training = X if fitted_on == "complete rows" else with_missing_cells(X)
    model = make_pipeline(scaler(), make(estimator_class, **params)).fit(training)
    # Rows with cells of the training rows only: MinMaxScaler keeps them in the Bernoulli's [0, 1].
    rows = np.where(np.isnan(training), np.nan, with_missing_cells(X, seed=2))
    assert_scores_and_labels_are_skvaes(run(model, rows), model, rows)


@pytest.mark.parametrize("fitted_on", ["complete rows", "incomplete rows"])
@pytest.mark.parametrize("estimator_class", [AutoencoderOutlierDetector, VAEOutlierDetector])
def test_a_model_that_standardises_scores_rows_with_missing_cells_as_skvae(estimator_class, fitted_on, data):
    X, _ = data
    training = X if fitted_on == "complete rows" else with_missing_cells(X)
    model = make(estimator_class, standardize=True).fit(training)
    rows = with_missing_cells(X, seed=2)
    np.testing.assert_allclose(
        run(model, rows)["scores"][:, 0], model.decision_function(rows), rtol=TOLERANCE
    )


def test_the_missing_cells_option_reaches_a_detector_in_a_pipeline_by_its_id(data):
    X, _ = data
    detector = make(VAEOutlierDetector)
    model = make_pipeline(StandardScaler(), detector).fit(X)
    rows = with_missing_cells(X[:20], seed=2)
    outputs = run(model, rows, options={id(detector): {"missing_cells": False}})
    incomplete = np.isnan(rows).any(axis=1)
    assert np.isnan(outputs["scores"][incomplete]).all() and (outputs["label"][incomplete] == -1).all()
    np.testing.assert_allclose(
        run(model, rows)["scores"][:, 0], model.decision_function(rows), rtol=TOLERANCE
    )


@pytest.mark.parametrize("estimator_class", [AutoencoderTransformer, VAETransformer])
def test_the_codes_of_rows_with_missing_cells_are_skvaes(estimator_class, data):
    X, _ = data
    model = make(estimator_class, n_components=3).fit(X)
    rows = with_missing_cells(X, seed=2)
    np.testing.assert_allclose(run(model, rows)["variable"], model.transform(rows), atol=TOLERANCE)


@pytest.mark.parametrize("estimator_class", [AutoencoderOutlierDetector, VAEOutlierDetector])
def test_a_row_with_no_observed_cell_is_never_a_silent_inlier_in_the_graph(estimator_class, data):
    X, _ = data
    model = make(estimator_class).fit(X)
    rows = X[:10].copy()
    rows[:5] = np.nan  # skvae refuses to score them; the graph gives NaN scores, labelled outliers
    outputs = run(model, rows)
    assert np.isnan(outputs["scores"][:5]).all() and (outputs["label"][:5] == -1).all()
    np.testing.assert_allclose(outputs["scores"][5:, 0], model.decision_function(rows[5:]), rtol=TOLERANCE)


@pytest.mark.parametrize("estimator_class", [AutoencoderOutlierDetector, VAEOutlierDetector])
def test_without_missing_cells_the_graph_scores_complete_rows_alike_and_a_nan_as_an_outlier(
    estimator_class, data
):
    X, _ = data
    model = make(estimator_class).fit(X)
    rows = X[:10].copy()
    rows[:3, 0] = np.nan
    outputs = run(model, rows, options={estimator_class: {"missing_cells": False}})
    np.testing.assert_allclose(outputs["scores"][3:, 0], model.decision_function(rows[3:]), rtol=TOLERANCE)
    assert np.isnan(outputs["scores"][:3]).all() and (outputs["label"][:3] == -1).all()


def test_a_column_transformer_holding_an_autoencoder_exports(data):
    X, _ = data
    codes = make_pipeline(StandardScaler(), make(AutoencoderTransformer, n_components=2))
    model = ColumnTransformer([("codes", codes, [0, 1, 2, 3, 4]), ("rest", StandardScaler(), [5, 6, 7])])
    model.fit(X)
    (output,) = run(model, X).values()
    np.testing.assert_allclose(output, model.transform(X), atol=TOLERANCE)


def test_a_fitted_attribute_the_graph_does_not_implement_is_refused(data):
    X, _ = data
    model = make(AutoencoderTransformer).fit(X)
    model.input_layer_ = {"centres": [0.0] * 8}  # as an input layer would add
    with pytest.raises(NotImplementedError, match=r"fitted \['input_layer_'\] has no ONNX implementation"):
        to_onnx(model, X[:1])


@pytest.mark.parametrize(
    "estimator_class",
    [AutoencoderTransformer, VAETransformer, AutoencoderOutlierDetector, VAEOutlierDetector],
)
def test_a_model_that_standardises_its_columns_exports_the_scaling_with_it(estimator_class, data):
    X, _ = data
    # Columns of many scales, one of them far from 0 for its spread (as a pressure in hPa).
    X = X * np.float32([1, 10, 100, 0.1, 1, 1, 1000, 1]) + np.float32([50, 50, 50, 50, 10_000, 50, 50, 50])
    model = make(estimator_class, standardize=True).fit(X)
    outputs = run(model, X)
    if hasattr(model, "decision_function"):  # the VAE's scores in X's own units: the log scales included
        assert_scores_and_labels_are_skvaes(outputs, model, X)
    else:
        np.testing.assert_allclose(outputs["variable"], model.transform(X), atol=TOLERANCE)


def test_a_model_of_a_table_with_categorical_columns_is_refused(data):
    X, _ = data
    table = pd.DataFrame(X[:, :3], columns=["a", "b", "c"]).assign(kind=pd.Categorical(["x", "y", "z"] * 100))
    model = make(VAEOutlierDetector).fit(table)
    # Whatever the sample: the table itself, whose columns skl2onnx makes inputs of, is told the same.
    for sample in (np.zeros((1, 4), dtype=np.float32), table.iloc[:1]):
        with pytest.raises(NotImplementedError, match="categorical columns .* OneHotEncoder"):
            to_onnx(model, sample)


def test_a_table_through_a_one_hot_encoder_exports_from_a_dataframe_sample(data):
    from sklearn.compose import make_column_transformer
    from sklearn.preprocessing import OneHotEncoder

    X, _ = data
    table = pd.DataFrame(X[:, :3].astype(np.float64), columns=["a", "b", "c"])
    table["kind"] = np.array(["x", "y", "z"])[np.argmax(X[:, 3:6], axis=1)]
    columns = make_column_transformer(
        (OneHotEncoder(sparse_output=False), ["kind"]), (StandardScaler(), ["a", "b", "c"])
    )
    model = make_pipeline(columns, make(AutoencoderOutlierDetector)).fit(table)
    onnx_model = to_onnx(model, table.iloc[:1])  # float64 columns: float32 inputs of the graph
    session = onnxruntime.InferenceSession(onnx_model.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {name: table[[name]].to_numpy(np.float32) for name in ["a", "b", "c"]}
    feeds["kind"] = table[["kind"]].to_numpy()
    label, scores = session.run(None, feeds)
    np.testing.assert_allclose(scores[:, 0], model.decision_function(table), rtol=TOLERANCE, atol=TOLERANCE)
    assert table["a"].dtype == np.float64  # the user's table is left as it was


def test_a_convolutional_model_is_refused_even_after_set_params_names_the_perceptron(data):
    X, _ = data
    model = make(AutoencoderTransformer, network="conv", input_shape=(1, -1)).fit(X)
    for network in ("conv", "mlp"):  # the networks fit built are what the graph would hold
        with pytest.raises(
            NotImplementedError, match="exports network='mlp' only.* fitted with network='conv'"
        ):
            to_onnx(model.set_params(network=network), X[:1])


@pytest.mark.parametrize("estimator_class", [AutoencoderTransformer, VAETransformer, VAEOutlierDetector])
def test_an_opset_before_11_is_refused_in_skvaes_words(estimator_class, data):
    X, _ = data
    with pytest.raises(ValueError, match="graphs of opset 11 or later; target_opset=10"):
        to_onnx(make(estimator_class).fit(X), X[:1], target_opset=10)


def test_an_unfitted_model_is_refused_as_not_fitted(data):
    X, _ = data
    in_pipeline = make_pipeline(StandardScaler().fit(X), make(VAEOutlierDetector))
    for model in (make(AutoencoderTransformer), in_pipeline):
        with pytest.raises(NotFittedError):
            to_onnx(model, X[:1])


def test_an_imputer_is_refused_in_skvaes_words_alone_or_in_a_pipeline(data):
    X, _ = data
    X = X.copy()
    X[::5, 2] = np.nan
    imputer = VAEImputer(max_iter=2, n_importance_samples=8, random_state=0)
    for model in (imputer, make_pipeline(imputer, make(AutoencoderTransformer))):
        model.fit(X)
        with pytest.raises(NotImplementedError, match="exports no VAEImputer"):
            to_onnx(model, X[:1])


def test_float64_inputs_are_refused_in_skvaes_words(data):
    import skl2onnx

    X, _ = data
    register_converters()
    with pytest.raises(TypeError, match="computes in float32"):
        skl2onnx.to_onnx(make(AutoencoderTransformer).fit(X), X[:1].astype(np.float64))


def test_a_dataframe_sample_is_refused_in_skvaes_words(data):
    pd = pytest.importorskip("pandas")
    X, _ = data
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(8)])
    model = make(AutoencoderTransformer, max_iter=2).fit(frame)
    # skl2onnx would make an input of each column, and the graph would read the first one only.
    with pytest.raises(ValueError, match="reads one ONNX input of 8 float32 columns, got 8 inputs"):
        to_onnx(model, frame.iloc[:1])


@pytest.mark.parametrize("estimator_class", [AutoencoderTransformer, AutoencoderOutlierDetector])
def test_a_sample_narrower_than_the_fitted_rows_is_refused(estimator_class, data):
    X, _ = data
    model = make(estimator_class, max_iter=2).fit(X)
    with pytest.raises(ValueError, match=f"X has 7 features, but {estimator_class.__name__} is expecting 8"):
        to_onnx(model, X[:1, :7])
