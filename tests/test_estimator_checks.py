"""scikit-learn's own conformance checks, with no expected failures."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skvae import (
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    VAEImputer,
    VAEOutlierDetector,
    VAETransformer,
)

ESTIMATORS = [
    AutoencoderTransformer(max_iter=5),
    VAETransformer(max_iter=5, n_importance_samples=8),
    AutoencoderOutlierDetector(max_iter=5),
    VAEOutlierDetector(max_iter=5, n_importance_samples=8),
    VAEImputer(max_iter=5, n_importance_samples=8),
    # The convolutional networks, reading each row as a series of any length.
    AutoencoderTransformer(network="conv", input_shape=(1, -1), hidden_layer_sizes=(4,), max_iter=5),
    VAEOutlierDetector(
        network="conv", input_shape=(1, -1), hidden_layer_sizes=(4,), max_iter=5, n_importance_samples=8
    ),
]


# Some checks fit on normal(loc=100) columns of spread 1 (check_fit_idempotent, check_n_features_in),
# which the warning about columns far from 0 rightly names.
@pytest.mark.filterwarnings("ignore:X's numeric columns reach the networks as they are:UserWarning")
@parametrize_with_checks(ESTIMATORS, expected_failed_checks=lambda estimator: {})
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
