"""The outlier detectors follow IsolationForest's conventions."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.stats
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

import skvae._outlier
import skvae._vae_detector
from skvae import AutoencoderOutlierDetector, VAEOutlierDetector

DETECTORS = [AutoencoderOutlierDetector, VAEOutlierDetector]


@pytest.fixture(scope="module")
def data():
    """Correlated inliers, and outliers that break the correlation."""
    rng = np.random.RandomState(0)
    inliers = rng.normal(size=(300, 2)) @ rng.normal(size=(2, 6)) + 0.1 * rng.normal(size=(300, 6))
    outliers = rng.uniform(-4, 4, size=(15, 6))
    return inliers, outliers


def fitted(detector_class, X, **params):
    return detector_class(n_components=2, max_iter=60, random_state=0, **params).fit(X)


@pytest.mark.parametrize("detector_class", DETECTORS)
def test_outliers_score_lower_than_inliers(detector_class, data):
    inliers, outliers = data
    detector = fitted(detector_class, inliers)
    assert np.median(detector.score_samples(outliers)) < np.percentile(detector.score_samples(inliers), 5)


@pytest.mark.parametrize("detector_class", DETECTORS)
def test_decision_function_is_score_samples_minus_offset(detector_class, data):
    inliers, outliers = data
    detector = fitted(detector_class, inliers)
    X = np.vstack([inliers, outliers])
    np.testing.assert_allclose(detector.decision_function(X), detector.score_samples(X) - detector.offset_)


@pytest.mark.parametrize("detector_class", DETECTORS)
def test_predict_says_plus_one_for_inliers_minus_one_for_outliers(detector_class, data):
    inliers, outliers = data
    detector = fitted(detector_class, inliers, contamination=0.05)
    X = np.vstack([inliers, outliers])
    prediction = detector.predict(X)
    assert set(np.unique(prediction)) == {-1, 1}
    np.testing.assert_array_equal(prediction, np.where(detector.decision_function(X) < 0, -1, 1))
    assert np.mean(prediction[len(inliers) :] == -1) > 0.8


@pytest.mark.parametrize("detector_class", DETECTORS)
@pytest.mark.parametrize("contamination", [0.05, 0.2])
def test_contamination_is_the_share_of_training_rows_flagged(detector_class, data, contamination):
    X = np.vstack(data)
    detector = fitted(detector_class, X, contamination=contamination)
    assert np.mean(detector.predict(X) == -1) == pytest.approx(contamination, abs=1 / len(X))
    assert np.array_equal(detector.fit_predict(X), detector.predict(X))


@pytest.mark.parametrize("detector_class", DETECTORS)
def test_offset_of_a_large_table_is_the_quantile_over_evenly_spaced_rows(detector_class, data, monkeypatch):
    # Past the cell budget, rows spread over the whole table stand for all of them.
    X = np.vstack(data)
    monkeypatch.setattr(skvae._outlier, "_OFFSET_CELLS", 10 * X.shape[1])
    monkeypatch.setattr(skvae._outlier, "_MIN_OFFSET_ROWS", 40)
    detector = fitted(detector_class, X, contamination=0.1)
    rows = np.linspace(0, len(X) - 1, 40).astype(int)
    assert detector.offset_ == pytest.approx(np.percentile(detector.score_samples(X[rows]), 10), rel=1e-5)
    assert np.mean(detector.predict(X) == -1) == pytest.approx(0.1, abs=0.05)


@pytest.mark.parametrize("detector_class", DETECTORS)
def test_partial_fit_sets_the_threshold_from_every_chunk_not_the_last_alone(detector_class, data):
    X = np.vstack(data)
    detector = detector_class(n_components=2, contamination=0.1, random_state=0)
    for _ in range(10):
        for start in range(0, len(X), 105):
            detector.partial_fit(X[start : start + 105])
    detector.partial_fit(X[:1])  # a last chunk of one row, as a stream may end
    assert np.mean(detector.predict(X) == -1) == pytest.approx(0.1, abs=0.03)
    # A fit starts afresh, with no sample of earlier chunks.
    assert not hasattr(detector.fit(X), "_stream_sample")


@pytest.mark.parametrize("detector_class", DETECTORS)
def test_a_fits_threshold_stays_until_partial_fit_has_seen_as_many_rows(detector_class, data):
    X = np.vstack(data)
    detector = fitted(detector_class, X, contamination=0.1)
    offset = detector.offset_
    detector.partial_fit(X[:1])
    assert detector.offset_ == offset
    restored = pickle.loads(pickle.dumps(detector))  # no training rows in a pickle
    assert not hasattr(restored, "_stream_sample")
    restored.partial_fit(X[:1])
    assert restored.offset_ == offset


@pytest.mark.parametrize("detector_class", DETECTORS)
def test_auto_contamination_flags_the_far_tail(detector_class, data):
    inliers, outliers = data
    detector = fitted(detector_class, inliers)
    assert np.mean(detector.predict(inliers) == -1) < 0.15
    assert np.mean(detector.predict(outliers) == -1) > 0.8


@pytest.mark.parametrize("detector_class", DETECTORS)
def test_auto_contamination_puts_the_offset_at_tukeys_lower_fence_of_the_training_scores(
    detector_class, data
):
    inliers, _ = data
    detector = fitted(detector_class, inliers)
    q1, q3 = np.percentile(detector.score_samples(inliers), [25, 75])
    assert detector.offset_ == pytest.approx(q1 - 1.5 * (q3 - q1), rel=1e-6)


@pytest.mark.parametrize("detector_class", DETECTORS)
def test_a_row_scoring_exactly_at_the_offset_is_an_inlier_as_in_isolation_forest(detector_class, data):
    inliers, _ = data
    detector = fitted(detector_class, inliers)
    detector.offset_ = float(detector.score_samples(inliers[:1])[0])
    assert detector.decision_function(inliers[:1])[0] == 0 and detector.predict(inliers[:1])[0] == 1


def test_robust_training_fences_on_the_median_and_the_mads_standard_deviation():
    losses = torch.as_tensor(np.random.RandomState(0).normal(3.0, 2.0, size=100_000))
    center, spread = skvae._outlier._robust_center_and_spread(losses)
    assert float(center) == pytest.approx(3.0, abs=0.05) and float(spread) == pytest.approx(2.0, rel=0.02)


@pytest.mark.parametrize("contamination", [0.0, 0.6, "high"])
def test_contamination_outside_its_range_is_rejected(contamination, data):
    with pytest.raises(
        InvalidParameterError, match="The 'contamination' parameter of AutoencoderOutlierDetector"
    ):
        AutoencoderOutlierDetector(contamination=contamination).fit(data[0])


def test_autoencoder_contributions_sum_to_the_score(data):
    inliers, outliers = data
    detector = fitted(AutoencoderOutlierDetector, inliers)
    contributions = detector.feature_contributions(outliers, method="reconstruction")
    assert contributions.shape == outliers.shape and np.all(contributions <= 0)
    np.testing.assert_allclose(contributions.sum(axis=1), detector.score_samples(outliers), rtol=1e-5)
    # Normalised by the training error: on training rows each feature averages -1.
    training_terms = detector.feature_contributions(inliers, method="reconstruction")
    np.testing.assert_allclose(training_terms.mean(axis=0), -1, rtol=1e-3)


def test_a_fitted_vae_scores_with_its_fitted_likelihood_whatever_the_parameter_says_now(data):
    # set_params changes what the next fit builds, not the model fitted: its likelihood_
    # decides (a "bernoulli" range check refused these rows; the explanations read the
    # Gaussian's outputs as log-odds).
    X = data[0][:60].copy()
    X[::7, 1] = np.nan
    detector = VAEOutlierDetector(n_components=2, likelihood="gaussian", max_iter=5, random_state=0)
    detector.fit(data[0])

    def outputs():
        methods = ("robust", "reconstruction")
        return [detector.score_samples(X), *(detector.feature_contributions(X, m) for m in methods)]

    before = outputs()
    detector.set_params(likelihood="bernoulli")
    for was, now in zip(before, outputs(), strict=True):
        np.testing.assert_array_equal(now, was)


@pytest.mark.parametrize("likelihood", ["student_t", "gaussian"])
def test_vae_contributions_are_per_feature_log_likelihoods(likelihood, data):
    inliers, outliers = data
    detector = fitted(VAEOutlierDetector, inliers, likelihood=likelihood)
    contributions = detector.feature_contributions(outliers, method="reconstruction")
    # log p(x_j | mu(x)): the scoring likelihood's density of each cell at the decoded posterior mean.
    means = detector.inverse_transform(detector.transform(outliers))
    fitted_likelihood = detector.likelihood_
    if likelihood == "student_t":
        df, scale = float(fitted_likelihood.df), np.sqrt(fitted_likelihood.scale.numpy())
        expected = scipy.stats.t.logpdf(outliers, df, loc=means, scale=scale)
    else:
        expected = scipy.stats.norm.logpdf(
            outliers, loc=means, scale=np.sqrt(fitted_likelihood.variance.numpy())
        )
    np.testing.assert_allclose(contributions, expected, rtol=1e-5, atol=1e-5)
    # They sum to log p(x | mu(x)), which bounds no score but tracks it.
    assert np.corrcoef(contributions.sum(axis=1), detector.score_samples(outliers))[0, 1] > 0.9


@pytest.mark.parametrize("detector_class", DETECTORS)
@pytest.mark.parametrize("method", ["robust", "reconstruction"])
def test_contributions_point_at_the_broken_feature(detector_class, method, data):
    inliers, _ = data
    detector = fitted(detector_class, inliers)
    broken = inliers[:20].copy()
    broken[:, 3] += 5 * inliers[:, 3].std()
    assert np.all(np.argmin(detector.feature_contributions(broken, method=method), axis=1) == 3)


@pytest.mark.parametrize("detector_class", DETECTORS)
def test_contributions_keep_dataframe_names_and_index(detector_class, data):
    inliers, _ = data
    columns = [f"sensor_{i}" for i in range(6)]
    frame = pd.DataFrame(inliers, columns=columns, index=np.arange(1000, 1300))
    detector = fitted(detector_class, frame)
    contributions = detector.feature_contributions(frame.iloc[:4])
    assert isinstance(contributions, pd.DataFrame)
    assert list(contributions.columns) == columns and list(contributions.index) == [1000, 1001, 1002, 1003]


@pytest.mark.parametrize("detector_class", DETECTORS)
def test_detector_as_last_pipeline_step(detector_class, data):
    inliers, outliers = data
    pipeline = make_pipeline(StandardScaler(), detector_class(max_iter=30, random_state=0)).fit(inliers)
    X = np.vstack([inliers, outliers])
    assert pipeline.predict(X).shape == (len(X),)
    np.testing.assert_allclose(
        pipeline.decision_function(X), pipeline[-1].decision_function(pipeline[0].transform(X))
    )


@pytest.mark.parametrize("detector_class", DETECTORS)
def test_fewer_rows_than_a_batch_and_constant_columns(detector_class):
    rng = np.random.RandomState(0)
    X = np.column_stack([rng.normal(size=(7, 3)), np.full(7, 5.0)])
    detector = detector_class(max_iter=5, random_state=0).fit(X)
    assert np.all(np.isfinite(detector.score_samples(X)))
    assert np.all(np.isfinite(detector.feature_contributions(X)))


@pytest.mark.parametrize("detector_class", DETECTORS)
def test_contributions_of_a_dataframe_to_a_model_fitted_on_an_array(detector_class, data):
    inliers, _ = data
    detector = fitted(detector_class, inliers)
    frame = pd.DataFrame(inliers[:4], columns=[f"sensor_{i}" for i in range(6)])
    with pytest.warns(UserWarning, match="fitted without feature names"):
        contributions = detector.feature_contributions(frame)
    assert list(contributions.columns) == list(frame.columns)
    np.testing.assert_array_equal(contributions.to_numpy(), detector.feature_contributions(inliers[:4]))


@pytest.mark.parametrize("detector_class", DETECTORS)
def test_early_stopping_scores_the_validation_rows(detector_class, data):
    detector = detector_class(max_iter=5, early_stopping=True, random_state=0).fit(data[0])
    assert len(detector.validation_scores_) == detector.n_iter_
    assert np.all(np.isfinite(detector.validation_scores_))


@pytest.mark.parametrize("detector_class", DETECTORS)
def test_auto_max_iter_runs_about_a_thousand_steps_and_counts_epochs(detector_class, data):
    X = np.vstack([data[0], data[0][:150]])  # 450 rows: 3 batches of at most 200 per epoch
    # tol=0 and a long patience: the budget, not convergence, ends training.
    detector = detector_class(
        hidden_layer_sizes=(8,), max_iter="auto", tol=0.0, n_iter_no_change=10_000, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # a budget, not a failure to converge
        detector.fit(X)
    assert detector.max_iter == "auto"
    assert detector.n_iter_ == len(detector.loss_curve_) == 334  # ceil(1000 / 3)
    detector.partial_fit(X)  # one more epoch, as with an integer max_iter
    assert detector.n_iter_ == 335


def test_auto_max_iter_takes_fewer_steps_on_wide_data():
    detector = VAEOutlierDetector()
    assert detector._max_epochs(7000, 27, batch_size=200) == 29  # 1,000 steps of 35 batches
    assert detector._max_epochs(100, 5, batch_size=100) == 1000
    assert detector._max_epochs(7000, 200, batch_size=200) == 15  # 500 steps of 35 batches
    assert detector._max_epochs(1400, 2000, batch_size=200) == 8  # 50 steps of 7 batches


@pytest.mark.parametrize("detector_class", DETECTORS)
def test_robust_training_keeps_training_anomalies_abnormal(detector_class):
    # A quarter of the training rows are scattered off the inliers' plane:
    # trained long on every row, a network learns to reconstruct many of them too.
    rng = np.random.RandomState(0)
    loadings = rng.normal(size=(2, 6))
    inliers = rng.normal(size=(300, 2)) @ loadings + 0.1 * rng.normal(size=(300, 6))
    X = np.vstack([inliers, rng.uniform(-2.5, 2.5, size=(100, 6))])
    y = np.r_[np.zeros(300), np.ones(100)]
    aucs = {}
    for threshold in (3.0, None):
        detector = detector_class(max_iter=100, random_state=0, robust_threshold=threshold)
        aucs[threshold] = roc_auc_score(y, -detector.fit(X).score_samples(X))
    assert aucs[3.0] > aucs[None] + 0.02


def test_robust_fence_leaves_out_the_rows_far_above_the_median():
    detector = VAEOutlierDetector()
    losses = torch.tensor([1.0, 1.2, 0.8, 1.1, 0.9, 1.0, 5.0, 40.0])
    assert detector._kept_rows(losses).tolist() == [True] * 6 + [False, False]
    # Equal losses (a spread of 0) keep every row.
    assert detector._kept_rows(torch.ones(5)).all()
    # More than half at one loss (duplicate rows): the others are kept but for the far one.
    duplicates = torch.tensor([0.5] * 5 + [0.9, 1.3, 20.0])
    assert detector._kept_rows(duplicates).tolist() == [True] * 7 + [False]
    assert detector._kept_rows(torch.tensor([0.1, 0.7])).all()  # a last batch of two rows


def test_robust_fence_leaves_out_at_most_30_percent_of_a_batch_keeping_the_best_fitted():
    # Far above a tight median, 40% of the rows would be left out: they are no minority of
    # anomalies but data the networks have yet to learn (a cluster of normal rows, say).
    losses = torch.tensor([1.0, 1.01, 0.99, 1.0, 1.02, 0.98, 12.0, 10.0, 13.0, 11.0])
    assert VAEOutlierDetector()._kept_rows(losses).tolist() == [True] * 6 + [False, True, False, False]
    assert AutoencoderOutlierDetector()._kept_rows(losses).sum() == 7


@pytest.mark.parametrize("detector_class", DETECTORS)
def test_a_majority_of_identical_training_rows_does_not_keep_the_others_from_being_learnt(detector_class):
    rng = np.random.RandomState(0)
    normal = rng.normal(size=(200, 2)) @ rng.normal(size=(2, 6))
    anomalies = rng.normal(size=(20, 6)) * normal.std(axis=0)  # off the plane
    for duplicates in (np.zeros((300, 6)), 1e-6 * rng.normal(size=(300, 6))):  # 57% of the records
        X = np.vstack([duplicates, normal, anomalies])
        scores = detector_class(random_state=0).fit(X).score_samples(X[300:])
        # with a spread of about 0 every other row was left out of training: ROC-AUC 0.66 and 0.59
        assert roc_auc_score(np.r_[np.zeros(200), np.ones(20)], -scores) > 0.95


@pytest.mark.parametrize("detector_class", DETECTORS)
def test_partial_fit_after_a_failed_refit_goes_on_as_if_the_refit_had_not_been_tried(detector_class, data):
    inliers, _ = data
    X = np.vstack([inliers] * 4)
    detector = detector_class(max_iter=1, random_state=0).fit(X)
    broken = X[:50].copy()
    broken[0] = np.nan  # a row with nothing observed: fit refuses it
    with pytest.raises(ValueError, match="no observed value"):
        detector.fit(broken)
    detector.partial_fit(X[:200])
    untried = detector_class(max_iter=1, random_state=0).fit(X).partial_fit(X[:200])
    assert detector.offset_ == untried.offset_
    np.testing.assert_array_equal(detector.feature_contributions(X[:5]), untried.feature_contributions(X[:5]))


def test_a_complete_rows_vae_score_does_not_depend_on_a_missing_cell_elsewhere_in_the_call(data):
    inliers, _ = data
    X = inliers.copy()
    X[0, 1] = np.nan
    detector = fitted(VAEOutlierDetector, X)
    together, alone = detector.score_samples(X)[1:], detector.score_samples(X[1:])
    np.testing.assert_array_equal(together, alone)


def test_auto_n_components_is_the_square_root_of_the_inputs_between_2_and_12():
    detector = VAEOutlierDetector()
    assert detector.n_components == "auto"
    sizes = [detector._resolved_n_components(n_inputs) for n_inputs in (1, 2, 3, 9, 36, 132, 133, 1555)]
    assert sizes == [1, 1, 2, 3, 6, 11, 12, 12]  # narrower than the rows: 1 for 1 or 2


def test_auto_n_components_counts_each_category_as_an_input():
    rng = np.random.RandomState(0)
    table = pd.DataFrame(rng.normal(size=(120, 5)), columns=list("abcde"))
    table["f"] = pd.Categorical(rng.choice(list("wxyz"), size=120))  # 5 + 4 = 9 inputs
    detector = VAEOutlierDetector(max_iter=2, random_state=0).fit(table)
    assert detector.n_components_ == 3
    assert detector.transform(table).shape == (120, 3)
    assert len(detector.get_feature_names_out()) == 3
    assert detector.get_params()["n_components"] == "auto"  # the parameter is left as given


def test_the_autoencoder_detectors_score_prefers_the_model_that_reconstructs_held_out_rows(data):
    inliers, _ = data
    train, held_out = inliers[:200], inliers[200:]
    barely, well = (
        AutoencoderOutlierDetector(n_components=2, max_iter=max_iter, random_state=0).fit(train)
        for max_iter in (1, 100)
    )
    # score_samples are in units of each model's own training error: alike on its training rows
    assert barely.score_samples(train).mean() == pytest.approx(well.score_samples(train).mean())
    assert well.score(held_out) > barely.score(held_out)
    reconstruction = well.inverse_transform(well.transform(held_out))
    assert well.score(held_out) == pytest.approx(
        -np.square(reconstruction - held_out).sum(axis=1).mean(), rel=1e-5
    )
    # In X's units whatever standardize does, so that a search over it compares like with like.
    scaled = AutoencoderOutlierDetector(n_components=2, max_iter=5, random_state=0, standardize=True)
    scaled.fit(train * 30.0)
    reconstruction = scaled.inverse_transform(scaled.transform(held_out * 30.0))
    assert scaled.score(held_out * 30.0) == pytest.approx(
        -np.square(reconstruction - held_out * 30.0).sum(axis=1).mean(), rel=1e-4
    )


def test_auto_n_components_goes_on_with_what_fit_resolved_though_the_rule_changed(monkeypatch):
    X = np.random.RandomState(0).normal(size=(200, 9))
    detector = VAEOutlierDetector(max_iter=1, random_state=0).fit(X)
    assert detector.n_components_ == 3
    monkeypatch.setattr(skvae._vae_detector, "_MAX_AUTO_COMPONENTS", 2)  # as a model saved by an older skvae
    assert detector.partial_fit(X).n_components_ == 3
    with pytest.raises(ValueError, match=r"n_components=4 \(fitted: 3\)"):
        detector.set_params(n_components=4).partial_fit(X)


def test_a_warm_started_autoencoder_detector_with_early_stopping_keeps_its_new_training(data):
    inliers = data[0] / 10  # raw errors far below the scaled ones, about -1 per feature
    detector = AutoencoderOutlierDetector(max_iter=5, early_stopping=True, warm_start=True, random_state=0)
    codes = detector.fit(inliers).transform(inliers)
    first_best = detector.best_validation_score_
    detector.fit(inliers)
    # the validation score is the raw error on both fits: the scaled one could never beat the first
    assert detector.best_validation_score_ > first_best
    assert not np.array_equal(detector.transform(inliers), codes)


# -- rows with missing cells, scored by a detector fitted on complete rows --------------------


@pytest.mark.parametrize("detector_class", DETECTORS)
def test_rows_missing_cells_are_flagged_far_less_than_at_the_training_mean(detector_class, monkeypatch):
    # Fitted on complete correlated rows, an encoder never saw a cell at the training mean beside
    # cells that say otherwise: such cells are refilled from the model's own reconstruction.
    rng = np.random.RandomState(1)
    loadings = rng.normal(size=(2, 6))
    rows, new = (rng.normal(size=(300, 2)) @ loadings + 0.1 * rng.normal(size=(300, 6)) for _ in range(2))
    detector = fitted(detector_class, rows, contamination=0.05)
    assert detector._refills_missing
    complete = np.mean(detector.predict(new) == -1)
    for n_missing in (1, 3):
        hidden = new.copy()
        hidden[:, 6 - n_missing :] = np.nan
        refilled = np.mean(detector.predict(hidden) == -1)
        with monkeypatch.context() as patch:
            patch.setattr("skvae._column_layout._REFILL_ROUNDS", 0)
            at_the_mean = np.mean(detector.predict(hidden) == -1)
        assert refilled < 0.5 * at_the_mean
        if detector_class is VAEOutlierDetector:  # its score marginalises the missing cells
            assert refilled <= complete + 0.05


def test_refilling_brings_an_incomplete_rows_vae_score_back_to_its_complete_one(data, monkeypatch):
    inliers, _ = data
    detector = fitted(VAEOutlierDetector, inliers)
    hidden = inliers.copy()
    hidden[:, 0] = np.nan
    shift = np.mean(detector.score_samples(hidden) - detector.score_samples(inliers))
    monkeypatch.setattr("skvae._column_layout._REFILL_ROUNDS", 0)
    shift_at_the_mean = np.mean(detector.score_samples(hidden) - detector.score_samples(inliers))
    assert abs(shift) < 1.0 < abs(shift_at_the_mean)


@pytest.mark.parametrize("detector_class", DETECTORS)
def test_networks_that_trained_on_missing_cells_read_them_at_the_mean(detector_class, data):
    inliers, _ = data
    incomplete = inliers.copy()
    incomplete[::5, 2] = np.nan
    assert not fitted(detector_class, incomplete)._refills_missing
    streamed = detector_class(n_components=2, random_state=0)
    streamed.partial_fit(inliers[:150])
    assert streamed._refills_missing
    streamed.partial_fit(incomplete[150:])  # from now on the networks have seen missing cells
    assert not streamed._refills_missing
    streamed.partial_fit(inliers[:150])
    assert not streamed._refills_missing


@pytest.mark.parametrize("detector_class", DETECTORS)
@pytest.mark.parametrize("method", ["robust", "reconstruction"])
def test_a_missing_cells_contribution_is_plus_zero(detector_class, method, data):
    inliers, _ = data
    detector = detector_class(n_components=2, max_iter=5, random_state=0).fit(inliers)
    X = inliers[:20].copy()
    X[:, 1] = np.nan
    contributions = detector.feature_contributions(X, method=method)
    assert (contributions[:, 1] == 0).all() and not np.signbit(contributions[:, 1]).any()


@pytest.mark.parametrize("detector_class", DETECTORS)
def test_a_refilled_category_adds_nothing_to_the_score_or_the_contributions(detector_class):
    rng = np.random.RandomState(0)
    a = rng.normal(size=400)
    frame = pd.DataFrame(
        {"a": a, "b": a + 0.1 * rng.normal(size=400), "c": pd.Categorical(np.where(a > 0, "p", "q"))}
    )
    detector = detector_class(n_components=2, max_iter=20, random_state=0, contamination=0.05).fit(frame)
    assert detector._refills_missing
    hidden = frame.assign(c=pd.Categorical([np.nan] * 400, categories=["p", "q"]))
    for method in ("robust", "reconstruction"):
        assert (detector.feature_contributions(hidden, method=method)["c"] == 0).all()
    # The category's block holds the refill's probabilities: they are no observation.
    assert np.mean(detector.predict(hidden) == -1) <= np.mean(detector.predict(frame) == -1) + 0.05


@pytest.mark.parametrize("detector_class", DETECTORS)
def test_a_new_fit_forgets_that_the_last_one_trained_on_complete_rows(detector_class, data):
    inliers, _ = data
    incomplete = inliers.copy()
    incomplete[::5, 2] = np.nan
    params = dict(n_components=2, max_iter=5, early_stopping=True, random_state=0)
    fresh = detector_class(**params).fit(incomplete)
    refit = detector_class(**params).fit(inliers).fit(incomplete)
    assert not refit._refills_missing
    assert refit.validation_scores_ == fresh.validation_scores_


def table_with_a_category(n_rows=400):
    rng = np.random.RandomState(0)
    a = rng.normal(size=n_rows)
    frame = pd.DataFrame(
        {"a": a, "b": a + 0.1 * rng.normal(size=n_rows), "c": pd.Categorical(np.where(a > 0, "p", "q"))}
    )
    frame.loc[::10, "c"] = np.nan  # 40 training cells of c missing
    return frame


def with_a_new_category(rows):
    new = rows.copy()
    new["c"] = new["c"].cat.add_categories("new")
    new.loc[new.index[::2], "c"] = "new"
    return new


@pytest.mark.parametrize("detector_class", DETECTORS)
def test_n_samples_seen_counts_each_columns_observed_training_rows_over_partial_fit(detector_class):
    frame = table_with_a_category()
    detector = detector_class(n_components=1, max_iter=2, random_state=0).fit(frame)
    np.testing.assert_array_equal(detector.n_samples_seen_, [400, 400, 360])
    detector.partial_fit(frame.iloc[:100])
    np.testing.assert_array_equal(detector.n_samples_seen_, [500, 500, 450])
    detector.fit(frame.iloc[:100])  # a new fit counts anew
    np.testing.assert_array_equal(detector.n_samples_seen_, [100, 100, 90])
    # Early stopping's validation rows are training rows too.
    detector.set_params(early_stopping=True).fit(frame)
    np.testing.assert_array_equal(detector.n_samples_seen_, [400, 400, 360])


@pytest.mark.parametrize("detector_class", DETECTORS)
def test_a_category_not_seen_in_fit_lowers_the_score_as_a_category_of_probability_one_in_n_plus_one(
    detector_class,
):
    frame = table_with_a_category()
    detector = detector_class(n_components=1, max_iter=20, random_state=0).fit(frame)
    rows = frame.dropna().iloc[:20]
    new = with_a_new_category(rows)
    with pytest.warns(
        UserWarning, match=r"not seen in fit \(new\).*1 / \(n \+ 1\), n the column's 360 training cells"
    ):
        scores = detector.score_samples(new)
    as_missing = detector.score_samples(rows.assign(c=new["c"].where(new["c"] != "new")))
    np.testing.assert_array_equal(scores[1::2], detector.score_samples(rows)[1::2])
    assert (scores[::2] < as_missing[::2]).all()
    # What the cell adds: log 1 / (n + 1) nats (the VAE), or that cross-entropy in units of the
    # column's mean training error (the autoencoder, whose score is its mean term over the cells).
    cross_entropy = np.log(360 + 1)
    if detector_class is VAEOutlierDetector:
        expected = as_missing[::2] - detector.column_log_likelihood_[2] - cross_entropy
    else:
        term = -cross_entropy / detector.reconstruction_scale_[2]
        n_observed, n_columns = 2, 3  # as missing; then the new category is observed too
        expected = (as_missing[::2] * n_observed / n_columns + term) * n_columns / (n_observed + 1)
    np.testing.assert_allclose(scores[::2], expected, rtol=1e-5)
    with pytest.warns(UserWarning, match="not seen in fit"):
        np.testing.assert_array_equal(detector.decision_function(new), scores - detector.offset_)
    # The VAE's score is their mean; the autoencoder's, its raw reconstruction error for model
    # selection, reads the cells as missing: no model reconstructs them.
    with pytest.warns(UserWarning, match="not seen in fit"):
        score = detector.score(new)
    if detector_class is VAEOutlierDetector:
        assert score == pytest.approx(scores.mean())
    else:
        assert score == detector.score(rows.assign(c=new["c"].where(new["c"] != "new")))


@pytest.mark.parametrize("detector_class", DETECTORS)
@pytest.mark.parametrize("method", ["robust", "reconstruction"])
def test_a_category_not_seen_in_fit_is_the_feature_its_row_is_blamed_on(detector_class, method):
    frame = table_with_a_category()
    detector = detector_class(n_components=1, max_iter=20, random_state=0).fit(frame)
    new = with_a_new_category(frame.dropna().iloc[:20])
    with pytest.warns(UserWarning, match="not seen in fit"):
        contributions = detector.feature_contributions(new, method=method)
    assert (contributions.iloc[::2].idxmin(axis=1) == "c").all()
    # One term for every such cell of the column, as the score counts it.
    assert contributions["c"].iloc[::2].nunique() == 1
    # The score's term: log 1 / (n + 1) nats for the VAE, the cross-entropy over the column's mean
    # training error for the autoencoder; robust, that over the column's mean term on the training
    # rows, as an observed category's.
    term = -np.log(360 + 1)
    if detector_class is AutoencoderOutlierDetector:
        term /= detector.reconstruction_scale_[2]
    if method == "robust":
        term /= detector._surprise_divisor[2]
    np.testing.assert_allclose(contributions["c"].iloc[0], term, rtol=1e-6)


@pytest.mark.parametrize("detector_class", DETECTORS)
def test_a_column_whose_later_training_rows_held_labels_not_listed_reads_them_as_missing(detector_class):
    frame = table_with_a_category()
    detector = detector_class(n_components=1, max_iter=2, random_state=0).partial_fit(frame.iloc[:200])
    later = frame.iloc[200:].assign(c=lambda f: f["c"].cat.add_categories(["r", "s"]))
    later.loc[later.index[1::4], "c"] = "r"  # 50 observed cells (the missing ones are every tenth)
    later.loc[later.index[3::8], "c"] = "s"  # 25 others
    # Training rows' labels are missing cells to the networks, and no more.
    with pytest.warns(
        UserWarning, match=r"not seen in fit \(r, s\): the networks read those cells as missing\.$"
    ):
        detector.partial_fit(later)
    assert detector._table.categories[0] == ["p", "q"]  # the first call's list stays
    np.testing.assert_array_equal(detector.n_samples_seen_, [400, 400, 360])
    np.testing.assert_array_equal(detector._n_unlisted_seen, [0, 0, 75])
    # As training and the threshold read them: any label not listed, "r" or one never seen.
    rows = frame.dropna().iloc[:10]
    as_missing = detector.score_samples(rows.assign(c=np.nan))
    for label in ("r", "t"):
        with pytest.warns(UserWarning, match=r"the networks read those cells as missing\.$"):
            np.testing.assert_array_equal(
                detector.score_samples(rows.assign(c=pd.Categorical([label] * 10))), as_missing
            )
    # So does a warm-started fit whose rows hold such labels; the fit counts anew.
    warm = detector_class(n_components=1, max_iter=2, random_state=0, warm_start=True).fit(frame.iloc[:200])
    with pytest.warns(UserWarning, match="not seen in fit"):
        warm.fit(later)
    np.testing.assert_array_equal(warm._n_unlisted_seen, [0, 0, 75])
    with pytest.warns(UserWarning, match=r"the networks read those cells as missing\.$"):
        warm.score_samples(rows.assign(c=pd.Categorical(["t"] * 10)))
    # The threshold flags the stream's own rows as it would with those cells missing.
    with pytest.warns(UserWarning, match="not seen in fit"):
        flagged = detector.predict(later)
    np.testing.assert_array_equal(
        flagged, detector.predict(later.assign(c=later["c"].where(later["c"].isin(["p", "q"]))))
    )


@pytest.mark.parametrize("detector_class", DETECTORS)
def test_a_model_that_predates_n_samples_seen_reads_a_new_category_as_missing(detector_class):
    frame = table_with_a_category()
    detector = detector_class(n_components=1, max_iter=2, random_state=0).fit(frame)
    rows = frame.dropna().iloc[:20]
    new = with_a_new_category(rows)
    del detector.n_samples_seen_
    del detector._n_unlisted_seen
    with pytest.warns(UserWarning, match=r"the networks read those cells as missing\.$"):
        scores = detector.score_samples(new)
    np.testing.assert_array_equal(
        scores, detector.score_samples(rows.assign(c=new["c"].where(new["c"] != "new")))
    )
    # Continued, it goes on reading them so, rather than counting from the new rows alone.
    detector.partial_fit(frame.iloc[:10])
    assert not hasattr(detector, "n_samples_seen_")
