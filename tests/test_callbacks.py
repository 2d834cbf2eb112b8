"""scikit-learn's callbacks: a task per fit, a sub-task per epoch, stopping, scores and progress bars."""

import copy
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skvae import (
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    VAEImputer,
    VAEOutlierDetector,
    VAETransformer,
)

callback = pytest.importorskip("sklearn.callback", reason="scikit-learn < 1.9 has no callbacks")

ESTIMATORS = [AutoencoderTransformer, VAETransformer, AutoencoderOutlierDetector, VAEOutlierDetector]


def small_pair(n_features, n_components, input_shape):
    return torch.nn.Linear(n_features, n_components), torch.nn.Linear(n_components, n_features)


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(90, 2)) @ rng.normal(size=(2, 5)) + 0.1 * rng.normal(size=(90, 5))
    return X, (X[:, 0] > 0).astype(int)


def make(estimator_class, **params):
    if issubclass(estimator_class, VAETransformer):
        params.setdefault("n_importance_samples", 8)
    params = {"n_components": 2, "hidden_layer_sizes": (8,), "max_iter": 6, "random_state": 0, **params}
    return estimator_class(**params)


class Recorder:
    """Records every task begun and ended; asks to stop after epoch ``stop_after`` of each fit."""

    def __init__(self, stop_after=None, max_propagation_depth=None):
        self.stop_after = stop_after
        self.max_propagation_depth = max_propagation_depth
        self.begun, self.ended = [], []

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        self.begun.append((context.estimator_name, context.task_name, context.max_subtasks))

    def on_fit_task_end(self, estimator, context):
        self.ended.append((context.estimator_name, context.task_name))
        return context.task_name == "epoch" and context.task_id + 1 == self.stop_after

    def tasks(self, name):
        return [task for task in self.ended if task[1] == name]


@pytest.mark.parametrize("estimator_class", ESTIMATORS)
def test_every_estimator_reports_a_fit_task_with_one_sub_task_per_epoch(estimator_class, data):
    X, _ = data
    recorder = Recorder()
    estimator = make(estimator_class).set_callbacks(recorder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X)
    name = estimator_class.__name__
    assert recorder.begun[0] == (name, "fit", 6)
    assert recorder.ended == [(name, "epoch")] * 6 + [(name, "fit")]


class CountSetups(Recorder):
    def __init__(self):
        super().__init__()
        self.setups = self.teardowns = 0

    def setup(self, estimator, context):
        self.setups += 1

    def teardown(self, estimator, context):
        self.teardowns += 1


def test_a_continued_fit_that_fails_still_tears_its_callbacks_down(data, monkeypatch):
    # A progress bar that is never torn down keeps its thread, and the process, alive.
    X, _ = data
    counter = CountSetups()
    estimator = make(AutoencoderTransformer).set_callbacks(counter).partial_fit(X)

    def fail(rows):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(estimator, "_after_fit", fail)
    with pytest.raises(RuntimeError):
        estimator.partial_fit(X)
    assert counter.setups == counter.teardowns == 2


def test_each_partial_fit_call_is_a_task_of_one_epoch(data):
    X, _ = data
    recorder = Recorder()
    estimator = make(AutoencoderTransformer).set_callbacks(recorder)
    estimator.partial_fit(X).partial_fit(X)
    name = "AutoencoderTransformer"
    assert recorder.begun == [(name, "partial_fit", 1), (name, "epoch", 0)] * 2
    assert estimator.n_iter_ == 2


@pytest.mark.parametrize("estimator_class", ESTIMATORS)
@pytest.mark.parametrize("early_stopping", [False, True])
def test_a_callback_stops_training_keeping_the_weights(estimator_class, early_stopping, data):
    X, _ = data
    stopped = make(estimator_class, max_iter=10, early_stopping=early_stopping).set_callbacks(
        Recorder(stop_after=3)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # a requested stop is no failure to converge
        stopped.fit(X)
    assert stopped.n_iter_ == 3 and len(stopped.loss_curve_) == 3
    # The same model as a fit of three epochs (with early stopping: its best epoch's weights).
    three = make(estimator_class, max_iter=3, early_stopping=early_stopping)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        three.fit(X)
    np.testing.assert_array_equal(stopped.transform(X), three.transform(X))
    np.testing.assert_array_equal(stopped.score_samples(X), three.score_samples(X))


@pytest.mark.parametrize("estimator_class", [AutoencoderOutlierDetector, VAETransformer])
def test_scoring_monitor_scores_the_model_as_it_is_after_each_epoch(estimator_class, data):
    X, y = data
    monitor = callback.ScoringMonitor(scoring=lambda estimator, X, y: {"score": estimator.score(X)})
    # scikit-learn's ScoringMonitor scores only fits that are given a y, which skvae ignores.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        make(estimator_class, max_iter=4).set_callbacks(monitor).fit(X, y)
    rows = [row for row in monitor.get_logs().data if row["task_name"] == "epoch"]
    assert [row["task_id"] for row in rows] == [0, 1, 2, 3]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        after_two = make(estimator_class, max_iter=2).fit(X)
    # What a fit stopped after two epochs would score, variances and thresholds included.
    assert rows[1]["score"] == pytest.approx(after_two.score(X), rel=1e-6)


class KeepLastEpochModel(Recorder):
    """Keeps the fitted_estimator of the last epoch."""

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        if context.task_name == "epoch":
            self.last_epoch_model = fitted_estimator


@pytest.mark.parametrize("estimator_class", [AutoencoderOutlierDetector, VAEOutlierDetector])
def test_the_last_epochs_model_explains_rows_as_the_fitted_model_does(estimator_class, data):
    X, _ = data
    keep = KeepLastEpochModel()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = make(estimator_class, max_iter=3).set_callbacks(keep).fit(X)
    # The robust explanations' anchors and correction are fitted state too, private as they are.
    np.testing.assert_array_equal(
        keep.last_epoch_model.feature_contributions(X), fitted.feature_contributions(X)
    )


@pytest.mark.parametrize(
    "estimator_class, params, train_incomplete",
    [(VAEImputer, {"add_indicator": True}, True), (VAETransformer, {}, False)],
)
def test_the_last_epochs_model_transforms_incomplete_rows_as_the_fitted_model_does(
    estimator_class, params, train_incomplete, data
):
    X, _ = data
    incomplete = X.copy()
    incomplete[::4, 1] = np.nan
    keep = KeepLastEpochModel()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = make(estimator_class, max_iter=3, **params).set_callbacks(keep)
        fitted.fit(incomplete if train_incomplete else X)
    # The imputer's indicator columns; a model of complete rows refilling the missing cells.
    np.testing.assert_array_equal(keep.last_epoch_model.transform(incomplete), fitted.transform(incomplete))


def test_the_epochs_model_has_the_validation_curve_so_far_and_a_warm_start_goes_on_with_it(data):
    X, _ = data
    keep = KeepLastEpochModel()
    model = make(AutoencoderTransformer, max_iter=3, early_stopping=True, warm_start=True, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.set_callbacks(keep).fit(X)
        assert keep.last_epoch_model.validation_scores_ == model.validation_scores_
        model.fit(X)  # warm start: the curve goes on
    assert len(model.validation_scores_) == 6
    assert keep.last_epoch_model.validation_scores_ == model.validation_scores_
    assert keep.last_epoch_model.best_validation_score_ == model.best_validation_score_


def test_the_per_epoch_model_is_built_only_for_callbacks_that_take_it(data, monkeypatch):
    X, _ = data

    def refuse(*args, **kwargs):
        raise AssertionError("a fitted_estimator was built")

    monkeypatch.setattr("skvae._fitting.fitted_attributes", refuse)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        make(VAETransformer).set_callbacks(Recorder()).fit(X)  # Recorder takes no fitted_estimator


def test_no_callback_context_is_made_when_no_callback_is_set(data, monkeypatch):
    X, _ = data

    def refuse(*args, **kwargs):
        raise AssertionError("a callback context was made")

    monkeypatch.setattr(AutoencoderTransformer, "_init_callback_context", refuse)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        make(AutoencoderTransformer).fit(X).partial_fit(X)


def test_progress_bars_reach_skvae_epochs_inside_a_grid_search_over_a_pipeline(data):
    pytest.importorskip("rich", reason="ProgressBar needs rich")
    X, y = data
    recorder = Recorder()  # auto-propagated to every depth, as the ProgressBar
    pipeline = make_pipeline(StandardScaler(), make(AutoencoderTransformer, max_iter=3), LogisticRegression())
    search = GridSearchCV(pipeline, {"autoencodertransformer__n_components": [1, 2]}, cv=2)
    search.set_callbacks(callback.ProgressBar(max_propagation_depth=None), recorder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    fits = [task for task in recorder.ended if task == ("AutoencoderTransformer", "fit")]
    assert len(fits) == 2 * 2 + 1  # candidates x folds, and the refit
    assert len(recorder.tasks("epoch")) == 3 * len(fits)
    assert search.best_estimator_[1].n_iter_ == 3


def test_without_sklearn_callback_skvae_imports_and_fits():
    code = (
        # scikit-learn itself needs sklearn.callback: take away the name skvae imports from it.
        "import sklearn.callback; del sklearn.callback.CallbackSupportMixin\n"
        "import numpy as np, skvae\n"
        "ae = skvae.AutoencoderTransformer(max_iter=2, random_state=0)\n"
        "ae.fit(np.random.RandomState(0).normal(size=(40, 3)))\n"
        "print(hasattr(ae, 'set_callbacks'), ae.n_iter_)\n"
    )
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "2"]


def test_the_epochs_model_of_a_partial_fit_is_calibrated_as_the_estimator_is(data):
    X, _ = data
    keep = KeepLastEpochModel()
    detector = make(AutoencoderOutlierDetector).set_callbacks(keep)
    detector.partial_fit(X[:-1]).partial_fit(X[-1:])  # a last chunk of one row
    assert keep.last_epoch_model.offset_ == detector.offset_


class CopyEachEpochModel(Recorder):
    """Keeps a deep copy of each epoch's fitted_estimator, as a checkpointing callback would."""

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        if context.task_name == "epoch":
            self.copy = copy.deepcopy(fitted_estimator)


def test_a_callback_may_copy_a_user_networks_model_while_it_trains(data):
    X, _ = data
    keep = CopyEachEpochModel()
    fitted = make(AutoencoderTransformer, network=small_pair, max_iter=2).set_callbacks(keep).fit(X)
    np.testing.assert_array_equal(keep.copy.transform(X), fitted.transform(X))
