"""A fitted estimator used from several threads at once gives the results of sequential calls."""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from skvae import AutoencoderOutlierDetector, AutoencoderTransformer, VAEOutlierDetector, VAETransformer

N_THREADS = 4
ROUNDS = 3


@pytest.fixture(scope="module")
def X():
    rng = np.random.RandomState(0)
    return rng.normal(size=(1500, 3)) @ rng.normal(size=(3, 10)) + 0.1 * rng.normal(size=(1500, 10))


def calls(estimator):
    """The read-only methods to run concurrently."""
    names = ["transform", "score_samples"]
    if isinstance(estimator, (AutoencoderOutlierDetector, VAEOutlierDetector)):
        names += ["decision_function", "predict", "feature_contributions"]
    return names


@pytest.mark.parametrize(
    "estimator",
    [
        AutoencoderTransformer(max_iter=5, random_state=0),
        VAETransformer(max_iter=5, n_importance_samples=16, random_state=0),
        AutoencoderOutlierDetector(max_iter=5, random_state=0),
        VAEOutlierDetector(max_iter=5, n_importance_samples=16, random_state=0),
    ],
    ids=lambda estimator: type(estimator).__name__,
)
def test_concurrent_calls_match_sequential_ones(estimator, X):
    estimator.fit(X)
    # Each thread works on its own slice of rows, so the calls overlap with different inputs.
    slices = [X[i::N_THREADS] for i in range(N_THREADS)]
    expected = [{name: getattr(estimator, name)(rows) for name in calls(estimator)} for rows in slices]
    start = threading.Barrier(N_THREADS)

    def work(i):
        start.wait()  # all threads call at the same moment
        return [
            {name: getattr(estimator, name)(slices[i]) for name in calls(estimator)} for _ in range(ROUNDS)
        ]

    with ThreadPoolExecutor(N_THREADS) as pool:
        results = list(pool.map(work, range(N_THREADS)))
    for i, rounds in enumerate(results):
        assert len(rounds) == ROUNDS
        for outputs in rounds:
            for name, output in outputs.items():
                np.testing.assert_array_equal(output, expected[i][name], err_msg=f"thread {i}, {name}")
