"""AutoencoderTransformer: what it computes and how it behaves as an estimator."""

import math
import pickle
import warnings
from contextlib import nullcontext

import joblib
import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.utils._param_validation import InvalidParameterError

from skvae import (
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    VAEImputer,
    VAEOutlierDetector,
    VAETransformer,
)
from skvae._tensors import FloatOverflow


@pytest.fixture(scope="module")
def digits_split():
    digits = load_digits()
    return train_test_split(digits.data / 16, test_size=0.2, stratify=digits.target, random_state=0)


@pytest.fixture
def X():
    return np.random.RandomState(0).normal(size=(120, 6))


def reconstruction_error(model, X):
    return float(np.mean((model.inverse_transform(model.transform(X)) - X) ** 2))


def test_default_autoencoder_beats_pca_on_digits(digits_split):
    X_train, X_test = digits_split
    pca = PCA(n_components=8).fit(X_train)
    ae = AutoencoderTransformer(n_components=8, random_state=0).fit(X_train)
    ratio = reconstruction_error(ae, X_test) / reconstruction_error(pca, X_test)
    assert ratio <= 0.6


def test_linear_autoencoder_approaches_pca():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 2)) @ rng.normal(size=(2, 6)) + 0.1 * rng.normal(size=(200, 6))
    pca = PCA(n_components=2).fit(X)
    ae = AutoencoderTransformer(
        n_components=2,
        hidden_layer_sizes=(),
        activation="identity",
        batch_size=20,
        learning_rate_init=1e-2,
        max_iter=300,
        random_state=0,
    ).fit(X)
    # PCA is the optimum of a linear autoencoder; Adam's noise keeps it near, not at it.
    assert reconstruction_error(ae, X) < 1.25 * reconstruction_error(pca, X)


def test_shapes_and_dtypes_follow_the_input(X):
    ae = AutoencoderTransformer(n_components=3, max_iter=3, random_state=0).fit(X)
    for dtype in (np.float32, np.float64):
        code = ae.transform(X.astype(dtype))
        assert code.shape == (120, 3) and code.dtype == dtype
        back = ae.inverse_transform(code)
        assert back.shape == (120, 6) and back.dtype == dtype
    assert ae.transform(X.astype(np.int64)).dtype == np.float64


@pytest.mark.parametrize("standardize", [False, True])
def test_score_samples_is_minus_squared_reconstruction_error_in_xs_units(standardize, X):
    # In X's units whatever the networks read, so that a search over standardize compares models.
    X = X * 30.0
    ae = AutoencoderTransformer(n_components=2, max_iter=3, random_state=0, standardize=standardize).fit(X)
    expected = -np.sum((ae.inverse_transform(ae.transform(X)) - X) ** 2, axis=1)
    np.testing.assert_allclose(ae.score_samples(X), expected, rtol=1e-4)
    assert ae.score(X) == pytest.approx(expected.mean(), rel=1e-4)


def test_outliers_score_lower(X):
    ae = AutoencoderTransformer(n_components=2, max_iter=50, random_state=0).fit(X)
    assert ae.score_samples(X + 10).mean() < ae.score_samples(X).mean()


def test_int_random_state_gives_bit_identical_refits(X):
    first = AutoencoderTransformer(max_iter=5, random_state=3).fit(X)
    second = AutoencoderTransformer(max_iter=5, random_state=3).fit(X)
    np.testing.assert_array_equal(first.transform(X), second.transform(X))
    assert first.loss_curve_ == second.loss_curve_
    other = AutoencoderTransformer(max_iter=5, random_state=4).fit(X)
    assert not np.array_equal(first.transform(X), other.transform(X))


def test_fitting_leaves_global_random_states_alone(X):
    np.random.seed(0)
    torch.manual_seed(0)
    numpy_state, torch_state = np.random.get_state()[1].copy(), torch.get_rng_state()
    AutoencoderTransformer(max_iter=3, early_stopping=True, random_state=0).fit(X).transform(X)
    assert np.array_equal(np.random.get_state()[1], numpy_state)
    assert torch.equal(torch.get_rng_state(), torch_state)


def test_training_records_sklearn_attributes(X):
    ae = AutoencoderTransformer(max_iter=4, random_state=0).fit(X)
    assert ae.n_iter_ == 4 and len(ae.loss_curve_) == 4
    assert ae.n_features_in_ == 6
    assert isinstance(ae.encoder_, torch.nn.Module) and isinstance(ae.decoder_, torch.nn.Module)
    assert not hasattr(ae, "validation_scores_")


def test_max_iter_without_convergence_warns_at_the_callers_line(X):
    for estimator in (
        AutoencoderTransformer(max_iter=2, random_state=0),
        VAEImputer(max_iter=2, random_state=0),
    ):
        with pytest.warns(ConvergenceWarning, match="Maximum iterations") as caught:
            estimator.fit(X)
        assert caught[0].filename == __file__
    # through scikit-learn's model selection and joblib too
    with pytest.warns(ConvergenceWarning, match="Maximum iterations") as caught:
        cross_val_score(AutoencoderTransformer(max_iter=2, random_state=0), X, cv=2)
    assert {warning.filename for warning in caught} == {__file__}


def test_a_batch_size_larger_than_the_data_is_clipped_with_a_warning_as_in_mlp(X):
    for train in ("fit", "partial_fit"):
        ae = AutoencoderTransformer(batch_size=len(X) + 1, max_iter=3, tol=1e9, random_state=0)
        message = f"batch_size={len(X) + 1}, larger than the {len(X)} training rows"
        with pytest.warns(UserWarning, match=message) as w:
            getattr(ae, train)(X)
        assert w[0].filename == __file__
        # one batch per epoch: the same training as batch_size=len(X)
        same = AutoencoderTransformer(batch_size=len(X), max_iter=3, tol=1e9, random_state=0)
        np.testing.assert_array_equal(ae.transform(X), getattr(same, train)(X).transform(X))


def test_training_stops_when_loss_stops_improving(X):
    ae = AutoencoderTransformer(max_iter=500, tol=10.0, n_iter_no_change=2, random_state=0).fit(X)
    # MLP's rule: the first epoch improves on infinity, then stop after more
    # than n_iter_no_change epochs without improvement.
    assert ae.n_iter_ == 1 + 3


def test_early_stopping_restores_the_best_validation_weights(X):
    ae = AutoencoderTransformer(
        max_iter=40, early_stopping=True, n_iter_no_change=3, tol=0.0, random_state=0
    ).fit(X)
    assert len(ae.validation_scores_) == ae.n_iter_
    assert ae.best_validation_score_ == max(ae.validation_scores_)
    # The restored weights give back the best score on the same held-out rows.
    order = np.random.RandomState(ae._seed).permutation(len(X))
    X_val = X[np.sort(order[:12])]
    assert ae.score(X_val) == pytest.approx(ae.best_validation_score_, rel=1e-5)


def test_early_stopping_holds_out_as_many_rows_as_train_test_split():
    X = np.random.RandomState(0).normal(size=(25, 3))
    ae = AutoencoderTransformer(early_stopping=True, validation_fraction=0.1, random_state=0)
    X_train, X_val = ae.fit(X)._split_validation(X)
    _, expected_val = train_test_split(X, test_size=0.1)
    assert len(X_val) == len(expected_val) == 3 and len(X_train) == 22


def test_early_stopping_needs_rows_for_both_sets():
    with pytest.raises(ValueError, match="validation_fraction"):
        AutoencoderTransformer(early_stopping=True).fit(np.ones((1, 2)))


def test_partial_fit_runs_one_epoch_per_call_and_keeps_going(X):
    ae = AutoencoderTransformer(random_state=0)
    ae.partial_fit(X[:60])
    assert ae.n_iter_ == 1
    encoder = ae.encoder_
    ae.partial_fit(X[60:])
    assert ae.n_iter_ == 2 and len(ae.loss_curve_) == 2 and ae.encoder_ is encoder
    with pytest.raises(ValueError, match="features"):
        ae.partial_fit(X[:, :4])


def test_partial_fit_chunks_match_fit_for_one_epoch(X):
    fitted = AutoencoderTransformer(max_iter=1, shuffle=False, batch_size=20, random_state=0).fit(X)
    streamed = AutoencoderTransformer(shuffle=False, batch_size=20, random_state=0)
    streamed.partial_fit(X[:60]).partial_fit(X[60:])  # same batches, one optimizer
    np.testing.assert_allclose(streamed.transform(X), fitted.transform(X), rtol=1e-5)


def test_warm_start_continues_from_previous_weights(X):
    ae = AutoencoderTransformer(max_iter=5, warm_start=True, random_state=0).fit(X)
    first_loss = ae.loss_curve_[-1]
    ae.fit(X)
    assert ae.n_iter_ == 10 and ae.loss_curve_[5] < first_loss * 1.5
    cold = AutoencoderTransformer(max_iter=5, random_state=0).fit(X).fit(X)
    assert cold.n_iter_ == 5


@pytest.mark.parametrize(
    "change",
    [
        {"n_components": 3},
        {"hidden_layer_sizes": (7,)},
        {"activation": "tanh"},
        # The columns: the fitted table would go on coding X as before, the change ignored.
        {"standardize": True},
        {"categorical_features": [0]},
    ],
)
def test_going_on_training_refuses_parameters_that_describe_other_networks(change, X):
    ae = AutoencoderTransformer(max_iter=2, warm_start=True, random_state=0).fit(X)
    ae.set_params(max_iter=3, learning_rate_init=1e-3).fit(X)  # training parameters may change
    ae.partial_fit(X)
    ae.set_params(**change)
    for go_on in (ae.fit, ae.partial_fit):
        with pytest.raises(ValueError, match="goes on training the networks it has fitted"):
            go_on(X)
    assert ae.set_params(warm_start=False).fit(X).n_components_ == ae.n_components


def test_going_on_training_takes_standardize_for_the_columns_it_gives(X):
    # On a table of numbers "auto" standardises nothing: False codes the columns alike.
    ae = AutoencoderTransformer(max_iter=1, warm_start=True, random_state=0).fit(X)
    ae.set_params(standardize=False).fit(X)
    ae.partial_fit(X)
    assert ae.n_iter_ == 3


@pytest.mark.parametrize("model_class", [AutoencoderTransformer, VAEOutlierDetector, VAEImputer])
def test_a_refit_that_fails_leaves_the_model_fitted_before_rather_than_a_half_new_one(X, model_class):
    # As PCA keeps its model when a refit refuses X: a notebook's trained model is not lost.
    model = model_class(max_iter=2, random_state=0).fit(X[:20])
    expected = model.transform(X[:20]), model.n_iter_, model.n_features_in_
    if model_class is not VAEImputer:  # which holds out cells, not rows
        model.set_params(early_stopping=True)  # no row to hold out of one
        with pytest.raises(ValueError, match="validation_fraction"):
            model.fit(X[:1])
    refused = X[:20, :2].copy()
    refused[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        model.fit(refused)
    # The imputer standardises: the others warn of columns far from unit scale.
    unscaled = pytest.warns(UserWarning, match="typical standard deviation")
    with (
        unscaled if model_class is not VAEImputer else nullcontext(),
        pytest.raises(ValueError, match="diverged"),
    ):
        model.set_params(early_stopping=False, learning_rate_init=1e3, max_iter=50).fit(X * 1e8)
    np.testing.assert_array_equal(model.transform(X[:20]), expected[0])
    assert (model.n_iter_, model.n_features_in_) == expected[1:]
    assert pickle.loads(pickle.dumps(model)).set_params(learning_rate_init=1e-3).fit(X).n_features_in_ == 6


@pytest.mark.parametrize("mode", [torch.no_grad, torch.inference_mode])
def test_fitting_inside_a_no_grad_block_trains_all_the_same(mode, X):
    expected = AutoencoderTransformer(max_iter=3, random_state=0).fit(X)
    with mode():
        ae = AutoencoderTransformer(max_iter=3, random_state=0).fit(X)
        ae.partial_fit(X)
    assert ae.n_iter_ == 4
    np.testing.assert_array_equal(ae.loss_curve_[:3], expected.loss_curve_)


def test_a_warm_started_fit_with_early_stopping_goes_on_with_the_validation_scores(X):
    ae = AutoencoderTransformer(max_iter=3, early_stopping=True, warm_start=True, random_state=0).fit(X)
    first = list(ae.validation_scores_)
    ae.fit(X)
    assert len(ae.validation_scores_) == len(ae.loss_curve_) == 6
    assert ae.validation_scores_[:3] == first
    assert ae.best_validation_score_ >= max(first)


def test_partial_fit_forgets_the_validation_of_weights_it_moves_on_from(X):
    ae = AutoencoderTransformer(max_iter=3, early_stopping=True, random_state=0).fit(X)
    ae.partial_fit(X)
    assert not hasattr(ae, "best_validation_score_") and not hasattr(ae, "validation_scores_")
    # A warm-started fit then validates afresh, rather than keeping the weights partial_fit moved from.
    ae.set_params(warm_start=True).fit(X)
    assert len(ae.validation_scores_) == 3 and ae.best_validation_score_ == max(ae.validation_scores_)


def test_pickle_and_joblib_round_trips_give_identical_outputs(X, tmp_path):
    ae = AutoencoderTransformer(max_iter=3, random_state=0).fit(X)
    restored = pickle.loads(pickle.dumps(ae))
    joblib.dump(ae, tmp_path / "ae.joblib")
    loaded = joblib.load(tmp_path / "ae.joblib")
    for other in (restored, loaded):
        np.testing.assert_array_equal(other.transform(X), ae.transform(X))
        np.testing.assert_array_equal(other.score_samples(X), ae.score_samples(X))
    restored.partial_fit(X)  # the optimizer survives the trip too
    assert restored.n_iter_ == 4


def test_feature_names_out_are_prefixed_by_the_class_name(X):
    ae = AutoencoderTransformer(n_components=3, max_iter=2).fit(X)
    assert list(ae.get_feature_names_out()) == [f"autoencodertransformer{i}" for i in range(3)]


def test_pandas_and_polars_output(X):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    ae = AutoencoderTransformer(n_components=2, max_iter=2).set_output(transform="pandas").fit(frame)
    out = ae.transform(frame)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == list(ae.get_feature_names_out())
    assert list(ae.feature_names_in_) == list(frame.columns)
    pl = pytest.importorskip("polars")
    polars_out = ae.set_output(transform="polars").transform(frame)
    assert isinstance(polars_out, pl.DataFrame) and polars_out.shape == (120, 2)


@pytest.mark.parametrize(
    "params",
    [
        {"n_components": 0},
        {"activation": "gelu"},
        {"batch_size": 0},
        {"learning_rate_init": 0.0},
        {"validation_fraction": 1.0},
        {"device": "tpu"},
        {"hidden_layer_sizes": 0},
    ],
)
def test_invalid_parameters_raise_invalid_parameter_error(params, X):
    (name,) = params
    with pytest.raises(InvalidParameterError, match=f"The '{name}' parameter of AutoencoderTransformer"):
        AutoencoderTransformer(**params).fit(X)


@pytest.mark.parametrize("estimator_class", [AutoencoderTransformer, VAETransformer])
@pytest.mark.parametrize(
    "params, message",
    [
        ({"n_components": True}, "The 'n_components' parameter of .* must be an int"),
        ({"hidden_layer_sizes": (True,)}, "hidden_layer_sizes must contain positive integers only"),
    ],
)
def test_a_bool_is_no_width(estimator_class, params, message, X):
    # bool is an Integral to scikit-learn's constraints; as a width it would be 1, or reach torch.
    with pytest.raises(ValueError, match=message):
        estimator_class(max_iter=2, **params).fit(X)


def test_hidden_layer_sizes_must_be_positive(X):
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        AutoencoderTransformer(hidden_layer_sizes=(8, 0)).fit(X)


def test_inverse_transform_checks_the_code_width(X):
    ae = AutoencoderTransformer(n_components=2, max_iter=2).fit(X)
    with pytest.raises(ValueError, match="expecting 2 features"):
        ae.inverse_transform(np.zeros((4, 3)))


def test_cuda_request_without_a_gpu_is_a_clear_error_and_auto_takes_the_cpu(X, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # a machine without a GPU
    with pytest.raises(ValueError, match="device='cuda' was requested, but torch cannot find a CUDA device"):
        AutoencoderTransformer(device="cuda").fit(X)
    auto = AutoencoderTransformer(device="auto", max_iter=2).fit(X)
    assert all(parameter.device.type == "cpu" for parameter in auto._networks().parameters())


def test_diverging_training_is_a_clear_error(X):
    unscaled = pytest.warns(UserWarning, match="typical standard deviation")
    with unscaled, pytest.raises(ValueError, match="diverged"):
        AutoencoderTransformer(learning_rate_init=1e3, max_iter=50, random_state=0).fit(X * 1e8)


def test_diverged_fit_leaves_the_estimator_unfitted(X):
    ae = AutoencoderTransformer(learning_rate_init=1e3, max_iter=50, random_state=0)
    unscaled = pytest.warns(UserWarning, match="typical standard deviation")
    with unscaled, pytest.raises(ValueError, match="diverged"):
        ae.fit(X * 1e8)
    with pytest.raises(NotFittedError):
        ae.transform(X)


def test_diverged_warm_start_goes_back_to_the_weights_it_started_from(X):
    ae = AutoencoderTransformer(max_iter=5, warm_start=True, random_state=0).fit(X)
    before = ae.transform(X)
    ae.set_params(learning_rate_init=1e3, max_iter=50)
    with pytest.raises(ValueError, match="diverged"):
        ae.fit(X * 1e8)
    np.testing.assert_array_equal(ae.transform(X), before)
    assert ae.n_iter_ == 5


def test_a_calibration_that_overflows_keeps_the_detectors_scores(X, monkeypatch):
    # the weights go back to those of the fit before: its error scales must stay beside them
    detector = AutoencoderOutlierDetector(max_iter=2, warm_start=True, random_state=0).fit(X)
    before = detector.score_samples(X)

    def overflow(fn, rows):
        raise FloatOverflow("overflowed")

    monkeypatch.setattr(detector, "_column_means", overflow)
    with pytest.raises(ValueError, match="diverged"):
        detector.fit(X)
    np.testing.assert_array_equal(detector.score_samples(X), before)


def test_a_last_step_that_breaks_the_weights_is_divergence_too(X):
    # an epoch's loss comes before each step: partial_fit's one epoch was never checked after it
    for estimator in (
        AutoencoderTransformer(learning_rate_init=1e39, random_state=0),  # weights beyond float32
        VAETransformer(learning_rate_init=1e8, random_state=0),  # weights that overflow on X
    ):
        with pytest.raises(ValueError, match="diverged"):
            estimator.partial_fit(X)
        assert not hasattr(estimator, "encoder_")


def test_an_interrupt_after_training_leaves_no_half_fitted_model(X, monkeypatch):
    detector = AutoencoderOutlierDetector(max_iter=2, random_state=0)

    def interrupt(rows):
        raise KeyboardInterrupt

    monkeypatch.setattr(detector, "_after_fit", interrupt)
    with pytest.raises(KeyboardInterrupt):
        detector.fit(X)
    with pytest.raises(NotFittedError):
        detector.predict(X)


@pytest.mark.parametrize("continue_fit", ["partial_fit", "warm_start"])
def test_an_interrupt_after_a_continued_fits_training_leaves_the_model_it_went_on_from(
    X, monkeypatch, continue_fit
):
    detector = AutoencoderOutlierDetector(max_iter=2, warm_start=True, random_state=0)
    detector.partial_fit(X) if continue_fit == "partial_fit" else detector.fit(X)
    before = detector.score_samples(X), detector.offset_, detector.n_iter_, list(detector.loss_curve_)

    def interrupt(rows):
        raise KeyboardInterrupt

    monkeypatch.setattr(detector, "_after_fit", interrupt)
    with pytest.raises(KeyboardInterrupt):
        detector.partial_fit(X) if continue_fit == "partial_fit" else detector.fit(X)
    monkeypatch.undo()
    # Not the new weights beside the old threshold: the model before the call, whole.
    np.testing.assert_array_equal(detector.score_samples(X), before[0])
    assert (detector.offset_, detector.n_iter_, detector.loss_curve_) == before[1:]


def test_a_failed_partial_fit_call_leaves_the_stream_as_it_was(X, monkeypatch):
    # Adam's moments too: the next call goes on as if the failed one had not been made.
    streamed, failed = (
        AutoencoderTransformer(batch_size=50, random_state=0).partial_fit(X) for _ in range(2)
    )
    calls = 0
    original_loss = failed._loss

    def failing_loss(batch, generator, has_missing):
        nonlocal calls
        calls += 1
        if calls == 2:  # after one optimizer step of the call
            raise RuntimeError("out of memory")
        return original_loss(batch, generator, has_missing)

    monkeypatch.setattr(failed, "_loss", failing_loss)
    with pytest.raises(RuntimeError, match="out of memory"):
        failed.partial_fit(X)
    monkeypatch.undo()
    # In evaluation mode, as fit leaves them (a new ModuleDict of them is in training mode itself).
    assert not any(module.training for net in (failed.encoder_, failed.decoder_) for module in net.modules())
    np.testing.assert_array_equal(failed.partial_fit(X).transform(X), streamed.partial_fit(X).transform(X))


def test_partial_fit_scales_the_l2_penalty_by_each_calls_batches_as_mlp_does(X):
    ae = AutoencoderTransformer(alpha=0.5, random_state=0).partial_fit(X[:1])
    assert ae._optimizer.param_groups[0]["weight_decay"] == 0.5
    ae.partial_fit(X)
    assert ae._optimizer.param_groups[0]["weight_decay"] == 0.5 / min(200, len(X))


def test_partial_fit_takes_each_calls_learning_rate_and_keeps_adams_moments(X):
    ae = AutoencoderTransformer(random_state=0).partial_fit(X)
    moments = [state["exp_avg"].clone() for state in ae._optimizer.state.values()]
    ae.set_params(learning_rate_init=0.5).partial_fit(X[:10])
    assert [group["lr"] for group in ae._optimizer.param_groups] == [0.5, 0.5]
    after = [state["exp_avg"] for state in ae._optimizer.state.values()]
    assert all(not torch.equal(now, before) for now, before in zip(after, moments, strict=True))


def test_batch_size_is_clipped_to_the_rows_left_for_training_by_early_stopping(X):
    n_train = len(X) - math.ceil(0.1 * len(X))
    ae = AutoencoderTransformer(batch_size=len(X), early_stopping=True, max_iter=2, random_state=0)
    with pytest.warns(UserWarning, match=f"batch_size={len(X)}, larger than the {n_train} training rows"):
        ae.fit(X)
    assert ae._optimizer.param_groups[0]["weight_decay"] == ae.alpha / n_train


def test_an_interrupt_in_a_warm_started_first_epoch_says_it_keeps_the_weights_it_began_with(X):
    ae = AutoencoderTransformer(max_iter=2, early_stopping=True, warm_start=True, batch_size=20)
    before = ae.set_params(random_state=0).fit(X).transform(X)
    original_loss = ae._loss

    def interrupting_loss(batch, generator, has_missing):
        if ae._n_steps == 17:  # the first fit's 12 steps, then within the next fit's first epoch
            raise KeyboardInterrupt
        return original_loss(batch, generator, has_missing)

    ae._loss = interrupting_loss
    with pytest.warns(UserWarning, match="keeps the weights it began with: no epoch ended"):
        ae.fit(X)
    np.testing.assert_array_equal(ae.transform(X), before)


def test_keyboard_interrupt_keeps_a_usable_model(X):
    ae = AutoencoderTransformer(max_iter=50, random_state=0)
    calls = 0
    original_loss = ae._loss

    def interrupting_loss(batch, generator, has_missing):
        nonlocal calls
        calls += 1
        if calls == 4:  # during the fourth epoch: one batch per epoch here
            raise KeyboardInterrupt
        return original_loss(batch, generator, has_missing)

    ae._loss = interrupting_loss
    with pytest.warns(UserWarning, match="interrupted"):
        ae.fit(X)
    assert ae.n_iter_ == 3 and len(ae.loss_curve_) == 3
    # The weights the three epochs trained, not those fit began with: those of a fit of three epochs.
    three = AutoencoderTransformer(max_iter=3, random_state=0).fit(X)
    np.testing.assert_array_equal(ae.transform(X), three.transform(X))
    assert ae.loss_curve_ == three.loss_curve_


@pytest.mark.parametrize("model_class", [AutoencoderTransformer, VAETransformer])
def test_codes_of_incomplete_rows_lie_near_their_complete_rows_codes(model_class, monkeypatch):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 2)) @ rng.normal(size=(2, 6)) + 0.1 * rng.normal(size=(400, 6))
    model = model_class(n_components=2, max_iter=100, random_state=0).fit(X)
    hidden = X.copy()
    hidden[:, :2] = np.nan
    codes = model.transform(X)

    def distance(incomplete_codes):
        return np.sum((incomplete_codes - codes) ** 2) / np.sum((codes - codes.mean(axis=0)) ** 2)

    refilled = distance(model.transform(hidden))
    monkeypatch.setattr("skvae._column_layout._REFILL_ROUNDS", 0)
    at_the_mean = distance(model.transform(hidden))
    assert refilled < 0.5 * at_the_mean
    np.testing.assert_array_equal(model.transform(X), codes)  # complete rows: never refilled


@pytest.mark.parametrize("model_class", [AutoencoderTransformer, VAETransformer])
def test_an_incomplete_rows_refilled_code_does_not_depend_on_the_rows_beside_it(model_class):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 12))
    model = model_class(n_components=3, max_iter=3, random_state=0).fit(X)
    rows = rng.normal(size=(40, 12))
    rows[::3, 2] = np.nan
    together = model.transform(rows)
    alone = np.vstack([model.transform(rows[i : i + 1]) for i in range(len(rows))])
    np.testing.assert_array_equal(together, alone)
    np.testing.assert_array_equal(model.score_samples(rows)[5:9], model.score_samples(rows[5:9]))


@pytest.mark.parametrize(
    "model_class", [AutoencoderTransformer, AutoencoderOutlierDetector, VAETransformer, VAEImputer]
)
def test_every_estimator_counts_its_optimizer_steps(model_class):
    X = np.random.RandomState(0).normal(size=(150, 4))
    model = model_class(batch_size=50, max_iter=4, random_state=0)
    with pytest.warns(ConvergenceWarning) if model_class is not AutoencoderOutlierDetector else nullcontext():
        model.fit(X)
    assert model._n_steps == 3 * model.n_iter_ == 12
    model.partial_fit(X)
    assert model._n_steps == 15


@pytest.mark.parametrize(
    "model_class",
    [AutoencoderTransformer, VAETransformer, AutoencoderOutlierDetector, VAEOutlierDetector, VAEImputer],
)
def test_a_forgotten_fit_leaves_nothing_fit_learnt(model_class):
    # What a failed fit calls: every fitted attribute, private ones included, must be listed
    # for it (a stale _n_calibration_rows once kept the next partial_fit from calibrating).
    X = np.random.RandomState(0).normal(size=(80, 4))
    X[::9, 1] = np.nan
    params = {"max_iter": 2, "early_stopping": True, "random_state": 0}
    model = model_class(**params, **({"sample_posterior": True} if model_class is VAEImputer else {}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X).partial_fit(X).transform(X)
    model._forget_fit()
    # The columns' reading goes too (a continued fit may replace it: see _note_training_rows);
    # the optimizer is dropped.
    assert set(vars(model)) - set(model.get_params()) == {"_optimizer"}
    assert model._optimizer is None
