"""skvae in one minute: both estimators in a Pipeline on scikit-learn's digits.

Prints each model's reconstruction error on held-out rows next to PCA's at the
same n_components, and the accuracy of a logistic regression on the codes.

Run with ``make demo``.
"""

import time
import warnings

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from skvae import AutoencoderTransformer, VAETransformer

torch.set_num_threads(1)
# 200 epochs is the demo's budget; the models keep improving slowly after it.
warnings.filterwarnings("ignore", message="Maximum iterations")
N_COMPONENTS = 8

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y, random_state=0)

reducers = {
    "PCA": PCA(n_components=N_COMPONENTS),
    "AutoencoderTransformer": AutoencoderTransformer(n_components=N_COMPONENTS, random_state=0),
    "VAETransformer": VAETransformer(n_components=N_COMPONENTS, random_state=0),
}

print(f"digits: {X_train.shape[0]} training rows, {X_test.shape[0]} test rows, {X.shape[1]} pixels in [0, 1]")
print(f"{'model':<24} {'test MSE':>9} {'vs PCA':>7} {'accuracy':>9} {'fit s':>6}")
pca_error = None
for name, reducer in reducers.items():
    # The codes feed a classifier: the whole chain is one Pipeline.
    pipeline = make_pipeline(reducer, LogisticRegression(max_iter=2000))
    tic = time.perf_counter()
    pipeline.fit(X_train, y_train)
    seconds = time.perf_counter() - tic
    reconstruction = reducer.inverse_transform(reducer.transform(X_test))
    error = float(np.mean((reconstruction - X_test) ** 2))
    pca_error = pca_error or error
    accuracy = pipeline.score(X_test, y_test)
    print(f"{name:<24} {error:9.5f} {error / pca_error:7.2f} {accuracy:9.3f} {seconds:6.1f}")
