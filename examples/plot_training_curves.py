"""
==================================================
Training curves, early stopping and verbose output
==================================================

The estimators train like scikit-learn's
:class:`~sklearn.neural_network.MLPRegressor` and keep the same records:
``n_iter_`` epochs run, ``loss_curve_`` the mean training loss after each
epoch, and with ``early_stopping=True`` the ``validation_scores_`` of a
held-out share of the rows and the ``best_validation_score_``. This example
plots them, shows the one line per epoch that ``verbose=1`` prints, and
trains a model step by step with ``partial_fit``.
"""

# %%
# One line per epoch
# ------------------
# ``verbose=1`` prints the epoch, the training loss, with early stopping the
# validation score, and how long the epoch took -- handy to see how a long
# fit is going.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skvae import AutoencoderTransformer, VAETransformer

X, y = load_digits(return_X_y=True)
X = X / 16
X_train, X_test = train_test_split(X, test_size=0.2, random_state=0)

with warnings.catch_warnings():
    # Five epochs, to show the output; a ConvergenceWarning would say so.
    warnings.filterwarnings("ignore", message="Maximum iterations")
    AutoencoderTransformer(n_components=8, max_iter=5, early_stopping=True, verbose=1, random_state=0).fit(
        X_train
    )

# %%
# Early stopping
# --------------
# Without early stopping, training ends after ``max_iter`` epochs or once the
# training loss has not improved by ``tol`` for more than
# ``n_iter_no_change`` epochs. With ``early_stopping=True``, a share
# ``validation_fraction`` of the rows is held out; training ends once *their*
# score has not improved by ``tol`` for more than ``n_iter_no_change``
# epochs, and the weights of the best epoch are restored.
#
# A small training set shows the point quickly: 500 digits, a fifth of them
# held out for validation, and a patience of 20 epochs.
rng = np.random.RandomState(0)
X_small = X_train[rng.choice(len(X_train), 500, replace=False)]

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    autoencoder = AutoencoderTransformer(
        n_components=8, early_stopping=True, validation_fraction=0.2, n_iter_no_change=20, random_state=0
    ).fit(X_small)
print("autoencoder:", *[str(warning.message) for warning in caught])
vae = VAETransformer(
    n_components=8,
    likelihood="bernoulli",
    early_stopping=True,
    validation_fraction=0.2,
    n_iter_no_change=20,
    max_iter=400,
    random_state=0,
).fit(X_small)

fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
units = ["squared error per row", "negative ELBO per row (nats)"]
for ax, model, unit in zip(axes, [autoencoder, vae], units, strict=True):
    best_epoch = int(np.argmax(model.validation_scores_)) + 1
    print(f"{type(model).__name__}: {model.n_iter_} epochs, best validation epoch {best_epoch}")
    epochs = np.arange(1, model.n_iter_ + 1)
    ax.plot(epochs, model.loss_curve_, label="training loss (loss_curve_)")
    ax.plot(epochs, -np.array(model.validation_scores_), label="validation (-validation_scores_)")
    ax.axvline(best_epoch, color="gray", linestyle="--", label="best epoch, restored")
    ax.set_xlabel("epoch")
    ax.set_ylabel(unit)
    ax.set_title(type(model).__name__)
    ax.legend()
axes[0].set_yscale("log")
axes[1].set_ylim(top=np.percentile(vae.loss_curve_, 95))

# %%
# For :class:`~skvae.AutoencoderTransformer` the training loss is the squared
# reconstruction error per row, and the validation score its negative on the
# held-out rows: the plot shows both as errors. The gap between them grows,
# but the validation error is still improving, slowly, after 200 epochs:
# early stopping did not trigger, ``max_iter`` ended training, and a
# ``ConvergenceWarning`` said so. Its weights are those of the best epoch
# all the same.
#
# For :class:`~skvae.VAETransformer` the training loss is the negative ELBO per
# row (averaged over the epoch's mini-batches, with fresh noise in each), and
# the validation score the ELBO of the held-out rows, with one fixed noise
# draw. On 400 training rows both improve ever more slowly, and the held-out
# ELBO's ups and downs from epoch to epoch come to outlast the patience:
# training ends once more than ``n_iter_no_change`` epochs have passed
# without an improvement by ``tol`` (here after a few hundred epochs: the
# VAE gets ``max_iter=400``), and the weights of the best epoch are
# restored; its score is ``best_validation_score_``.
print(f"VAE best_validation_score_: {vae.best_validation_score_:.2f} nats")

# %%
# Training in steps
# -----------------
# ``partial_fit`` runs one epoch over the rows it is given and keeps the
# optimizer's state between calls: for data that arrive in chunks, or to
# watch a model between epochs. (``warm_start=True`` makes ``fit`` continue
# from the previous weights instead of starting anew.)
streamed = AutoencoderTransformer(n_components=8, random_state=0)
test_errors = []
for _ in range(30):
    for chunk in np.array_split(X_train, 4):
        streamed.partial_fit(chunk)
    test_errors.append(-streamed.score(X_test))
print(f"after {streamed.n_iter_} partial_fit calls: squared error per test row {test_errors[-1]:.3f}")

fig, ax = plt.subplots(figsize=(5.5, 3.6), layout="constrained")
ax.plot(np.arange(1, 31), test_errors, marker=".")
ax.set_xlabel("passes over the training rows (4 partial_fit calls each)")
ax.set_ylabel("squared error per test row")
ax.set_title("AutoencoderTransformer.partial_fit")
