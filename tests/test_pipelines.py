"""The estimators inside scikit-learn's composition and model-selection tools."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skvae import AutoencoderTransformer, VAETransformer


@pytest.fixture(scope="module")
def frame():
    rng = np.random.RandomState(0)
    n = 240
    colour = rng.choice(["red", "green", "blue"], size=n)
    size = rng.normal(size=n)
    weight = 2 * size + rng.normal(scale=0.3, size=n)
    target = (size + (colour == "red") > 0.5).astype(int)
    return pd.DataFrame({"size": size, "weight": weight, "colour": colour}), target


def make_model(estimator):
    columns = ColumnTransformer(
        [
            ("numeric", StandardScaler(), ["size", "weight"]),
            ("categorical", OneHotEncoder(sparse_output=False), ["colour"]),
        ]
    )
    return make_pipeline(columns, estimator, LogisticRegression()).set_output(transform="pandas")


@pytest.mark.parametrize("estimator_class", [AutoencoderTransformer, VAETransformer])
def test_column_transformer_pipeline_tuned_by_grid_search(frame, estimator_class):
    X, y = frame
    model = make_model(estimator_class(max_iter=20, random_state=0))
    search = GridSearchCV(
        model,
        {
            f"{estimator_class.__name__.lower()}__n_components": [2, 3],
            f"{estimator_class.__name__.lower()}__hidden_layer_sizes": [(8,), (16, 8)],
        },
        cv=3,
        n_jobs=2,
    ).fit(X, y)
    assert search.best_score_ > 0.7
    reducer = search.best_estimator_[1]
    codes = search.best_estimator_[:2].transform(X)
    assert isinstance(codes, pd.DataFrame)
    assert list(codes.columns) == list(reducer.get_feature_names_out())
    assert list(reducer.feature_names_in_) == list(search.best_estimator_[0].get_feature_names_out())


@pytest.mark.parametrize("estimator_class", [AutoencoderTransformer, VAETransformer])
def test_unsupervised_grid_search_uses_score(estimator_class):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 3)) @ rng.normal(size=(3, 8)) + 0.05 * rng.normal(size=(300, 8))
    search = GridSearchCV(estimator_class(max_iter=60, random_state=0), {"n_components": [1, 3]}, cv=3).fit(X)
    # Three latent factors generated the data: the score must prefer three components.
    assert search.best_params_ == {"n_components": 3}
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_clone_gives_an_unfitted_copy_with_the_same_parameters():
    ae = AutoencoderTransformer(n_components=3, hidden_layer_sizes=(4,), max_iter=2)
    ae.fit(np.random.RandomState(0).normal(size=(20, 5)))
    copy = clone(ae)
    assert copy.get_params() == ae.get_params()
    assert not hasattr(copy, "encoder_")
