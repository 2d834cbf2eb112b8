"""
=====================================
A convolutional autoencoder of series
=====================================

GunPoint is a classic data set of the UCR time-series archive: 200 series of
150 time steps, each the x-coordinate of an actor's hand, who either draws a
gun from a holster and points it ("Gun") or points a finger ("Point"). It
ships inside sktime's package (``pip install sktime``), so this example runs
offline.

skvae reads each row as a series with ``network="conv"`` and
``input_shape=(1, -1)`` (one channel, the length worked out from the
columns): X stays a plain 2-D array, one series per row, as in any
scikit-learn pipeline. The example

* compresses every series to 2 and to 8 numbers, and plots the 2-number
  codes by class next to PCA's 2 components;
* measures how well each separates the classes, by a k-nearest-neighbour
  classifier fitted on the codes of the archive's training series and scored
  on the codes of its test series;
* finds the most unusual series with the outlier detector built on the same
  network.
"""

# %%
# The series
# ----------
# The UCR archive's split: 50 training and 150 test series. The networks
# learn without labels, so they see all 200 series; the labels only score
# the codes afterwards.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.decomposition import PCA
from sklearn.neighbors import KNeighborsClassifier
from sktime.datasets import load_gunpoint

from skvae import AutoencoderOutlierDetector, VAETransformer

X_train, y_train = load_gunpoint(split="train", return_X_y=True, return_type="numpy2D")
X_test, y_test = load_gunpoint(split="test", return_X_y=True, return_type="numpy2D")
X = np.vstack([X_train, X_test])
labels = {"1": "Gun", "2": "Point"}
print(f"GunPoint: {X.shape[0]} series of length {X.shape[1]}")

# %%
# Codes from a convolutional VAE, and from PCA
# --------------------------------------------
# Two blocks of stride-2 convolutions (16 and 32 channels) take a series of
# 150 steps to 38 steps of 32 channels, then a linear layer to the code. Each
# model compresses every series to 2 numbers and to 8, and a k-nearest-
# neighbour classifier fitted on the codes of the 50 training series scores
# the codes of the 150 test series.
warnings.filterwarnings("ignore", message="Maximum iterations")


def make_models(n_components):
    return {
        "PCA": PCA(n_components=n_components),
        "convolutional VAE": VAETransformer(
            n_components=n_components,
            network="conv",
            input_shape=(1, -1),
            hidden_layer_sizes=(16, 32),
            random_state=0,
        ),
    }


def knn_accuracy(model, n_neighbors):
    knn = KNeighborsClassifier(n_neighbors).fit(model.transform(X_train), y_train)
    return knn.score(model.transform(X_test), y_test)


fitted = {}
print("test accuracy of k-NN on the codes")
for n_components in (2, 8):
    for name, model in make_models(n_components).items():
        fitted[name, n_components] = model.fit(X)
        accuracies = ", ".join(f"{k}-NN {knn_accuracy(model, k):.3f}" for k in (1, 5))
        print(f"  {n_components} numbers, {name:<18} {accuracies}")

fig, axes = plt.subplots(1, 2, figsize=(9, 4))
y = np.concatenate([y_train, y_test])
for ax, name in zip(axes, ["PCA", "convolutional VAE"], strict=True):
    Z = fitted[name, 2].transform(X)
    for value, label in labels.items():
        ax.scatter(*Z[y == value].T, s=12, alpha=0.7, label=label)
    ax.set_title(name)
    ax.legend()
fig.suptitle("GunPoint's 200 series in two numbers")
fig.tight_layout()

# %%
# With 2 numbers PCA's codes separate the classes better: its two directions
# of largest variance already split Gun from Point. With 8 numbers the VAE's
# codes separate them better at both k. The benchmarks page
# (:ref:`benchmarks-networks`) repeats this over seeds and on three more
# UCR data sets.
#
# The most unusual series
# -----------------------
# The outlier detector with the same convolutional network scores every
# series by how badly it is reconstructed (see :ref:`outliers`). Its default
# number of epochs suits tables of thousands of rows; 200 series need more
# passes.
detector = AutoencoderOutlierDetector(
    n_components=2,
    network="conv",
    input_shape=(1, -1),
    hidden_layer_sizes=(16, 32),
    max_iter=200,
    random_state=0,
).fit(X)
scores = detector.score_samples(X)
strangest = int(np.argmin(scores))
reconstruction = detector.inverse_transform(detector.transform(X[[strangest]]))[0]

fig, ax = plt.subplots(figsize=(7, 3.5))
ax.plot(X[np.argsort(scores)[-20:]].T, color="0.8", linewidth=0.8)
ax.plot(X[strangest], color="C3", label=f"series {strangest} (the lowest score)")
ax.plot(reconstruction, color="C3", linestyle="--", label="its reconstruction")
ax.set_xlabel("time step")
ax.set_title("The most unusual series, over the 20 most typical (grey)")
ax.legend()
fig.tight_layout()
print(f"series {strangest}: score {scores[strangest]:.1f}; median score {np.median(scores):.1f}")
