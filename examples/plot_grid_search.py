"""
====================================================
Choosing n_components and the architecture by search
====================================================

How many components, how wide a network? Like any scikit-learn estimator,
the autoencoders are tuned with :class:`~sklearn.model_selection.GridSearchCV`.
What to maximise depends on what the code is for:

* when the code feeds a supervised model, search over the whole
  :class:`~sklearn.pipeline.Pipeline` and score the final predictions;
* without labels, :class:`~skvae.VAETransformer`'s ``score`` -- the mean
  held-out log-likelihood -- is a principled criterion: it rewards a model
  that explains new rows, not one that merely has more capacity.

The autoencoder's own ``score`` (minus the squared reconstruction error)
is a poor criterion for ``n_components``: more components almost always
reconstruct better, so the search would pick the largest.

Each fit here is kept to 30 epochs so that the example runs in seconds; a
real search would give each candidate the epochs it needs (see
:ref:`sphx_glr_auto_examples_plot_training_curves.py`).
"""

# %%
# Codes for a classifier: search the pipeline
# -------------------------------------------
# Parameters of a pipeline's steps are addressed as ``step__parameter``.
# ``n_jobs`` would run the candidates in parallel processes; then keep each
# process to one torch thread (see :ref:`threads`).
import warnings

import matplotlib.pyplot as plt
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline

from skvae import AutoencoderTransformer, VAETransformer

# 30 epochs per fit is this example's budget, not convergence.
warnings.filterwarnings("ignore", message="Maximum iterations")

X, y = load_digits(return_X_y=True)
X = X / 16

pipeline = Pipeline(
    [
        ("autoencoder", AutoencoderTransformer(max_iter=30, random_state=0)),
        ("classifier", LogisticRegression(max_iter=1000)),
    ]
)
param_grid = {
    "autoencoder__n_components": [2, 4, 8, 16],
    "autoencoder__hidden_layer_sizes": [(32,), (128,)],
}
search = GridSearchCV(pipeline, param_grid, cv=3).fit(X, y)
print("best parameters:", search.best_params_)
print(f"best cross-validated accuracy: {search.best_score_:.3f}")

# %%
# For reference, the same classifier on all 64 pixels: compressing the
# digits is not what makes them easier to classify, and 16 learned features
# come close to the 64 raw ones.
raw = cross_val_score(LogisticRegression(max_iter=1000), X, y, cv=3).mean()
print(f"logistic regression on the 64 pixels: {raw:.3f}")

# %%
# ``cv_results_`` holds every candidate's scores. The wider network gives
# the better code at every size, and its accuracy rises with the number of
# components.
results = pd.DataFrame(search.cv_results_)
fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
for hidden, group in results.groupby(results["param_autoencoder__hidden_layer_sizes"].astype(str)):
    ax.errorbar(
        group["param_autoencoder__n_components"],
        group["mean_test_score"],
        yerr=group["std_test_score"],
        marker="o",
        capsize=3,
        label=f"hidden_layer_sizes={hidden}",
    )
ax.axhline(raw, color="gray", linestyle="--", label="all 64 pixels")
ax.set_xscale("log", base=2)
ax.set_xticks([2, 4, 8, 16], ["2", "4", "8", "16"])
ax.set_xlabel("n_components")
ax.set_ylabel("accuracy (3-fold cross-validation)")
ax.set_title("Autoencoder + logistic regression")
ax.legend()

# %%
# Without labels: the VAE's held-out likelihood
# ---------------------------------------------
# Here the digits are modelled as Bernoulli pixels (``likelihood="bernoulli"``,
# which needs data in [0, 1]), and ``GridSearchCV`` uses the estimator's own
# ``score``: the mean log-likelihood of the held-out fold, in nats. Higher is
# better. Two latent variables explain the held-out digits less well than
# four; beyond that the likelihood stays level or drops a little -- the
# differences are smaller than the spread between folds, and the search
# picks the best mean. A VAE leaves latent variables it does not need close
# to the prior, so extra ones cost little.
vae_search = GridSearchCV(
    VAETransformer(likelihood="bernoulli", max_iter=30, random_state=0),
    {"n_components": [2, 4, 8, 16]},
    cv=3,
).fit(X)
print("best n_components by held-out log-likelihood:", vae_search.best_params_["n_components"])

vae_results = pd.DataFrame(vae_search.cv_results_)
fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
ax.errorbar(
    vae_results["param_n_components"],
    vae_results["mean_test_score"],
    yerr=vae_results["std_test_score"],
    marker="o",
    capsize=3,
)
ax.set_xscale("log", base=2)
ax.set_xticks([2, 4, 8, 16], ["2", "4", "8", "16"])
ax.set_xlabel("n_components")
ax.set_ylabel("held-out log-likelihood (nats per digit)")
ax.set_title("VAETransformer, unsupervised")
vae_results[["param_n_components", "mean_test_score", "std_test_score", "rank_test_score"]]
