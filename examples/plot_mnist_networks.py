"""
==================================================
The article's MNIST autoencoder, and a convolution
==================================================

The founding article on autoencoders illustrates them with a Keras model of
MNIST: a 784-64-32 encoder, a 32-64-784 decoder with a sigmoid output, Adam,
batches of 256, 50 epochs. This example writes that model the skvae way --
as a user network, ``network=callable`` -- and puts next to it skvae's
convolutional network, ``network="conv"``, with the same 32-number code. Both
are :class:`~skvae.AutoencoderTransformer` s: they fit, transform and
reconstruct as PCA does, and their training curves come from ``partial_fit``,
one epoch per call.

The example reads MNIST from ``../shared/data/mnist.npz`` (the project's data
folder, next to the repository) and trains on 10,000 of its images to stay
fast; without that file it uses scikit-learn's 8x8 digits, and says so.
"""

# %%
# The data
# --------
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

from skvae import AutoencoderTransformer

candidates = [Path("../shared/data/mnist.npz"), Path("../../shared/data/mnist.npz")]
mnist_path = next((path for path in candidates if path.exists()), None)
if mnist_path is not None:
    with np.load(mnist_path) as mnist:
        rows = np.random.RandomState(0).choice(len(mnist["x_train"]), 10_000, replace=False)
        X_train = mnist["x_train"][rows].reshape(-1, 784).astype(np.float32) / 255
        X_test = mnist["x_test"][:2000].reshape(-1, 784).astype(np.float32) / 255
    side, conv_epochs = 28, 4
    print(f"MNIST: {len(X_train)} of the 60000 training images, {len(X_test)} test images")
else:
    X = (load_digits().data / 16).astype(np.float32)
    X_train, X_test = train_test_split(X, test_size=360, random_state=0)
    side, conv_epochs = 8, 50
    print(f"MNIST not found: scikit-learn's digits, {len(X_train)} training and {len(X_test)} test images")


# %%
# The article's network, as a user network
# ----------------------------------------
# A user network is a function (or class) that skvae calls at fit with the
# rows' width, the code's size and the rows' shape, and that returns the
# encoder and the decoder. Its keyword arguments come from
# ``network_params``, so that a grid search can tune them.
def keras_article_network(n_features, n_components, input_shape, width=64):
    encoder = nn.Sequential(
        nn.Linear(n_features, width), nn.ReLU(), nn.Linear(width, n_components), nn.ReLU()
    )
    decoder = nn.Sequential(
        nn.Linear(n_components, width), nn.ReLU(), nn.Linear(width, n_features), nn.Sigmoid()
    )
    return encoder, decoder


models = {
    "article's MLP 784-64-32": AutoencoderTransformer(
        n_components=32,
        network=keras_article_network,
        batch_size=256,
        learning_rate_init=1e-3,
        random_state=0,
    ),
    # Each row seen as a 1 x 28 x 28 image: one block of 128 channels (the
    # default hidden_layer_sizes) with stride 2, then a linear map to the code.
    "convolutional, network='conv'": AutoencoderTransformer(
        n_components=32, network="conv", input_shape=(1, side, side), random_state=0
    ),
}
epochs = {"article's MLP 784-64-32": 50, "convolutional, network='conv'": conv_epochs}


# %%
# Training curves: test error against training time
# --------------------------------------------------
# ``partial_fit`` trains one epoch and keeps Adam's state, so a loop of it is
# a fit that can be watched. Only the training calls are timed.
def squared_error(model, X):
    return float(((model.inverse_transform(model.transform(X)) - X) ** 2).sum(axis=1).mean())


curves = {}
for name, model in models.items():
    seconds, curve = 0.0, []
    for _ in range(epochs[name]):
        start = time.perf_counter()
        model.partial_fit(X_train)
        seconds += time.perf_counter() - start
        curve.append((seconds, squared_error(model, X_test)))
    curves[name] = np.array(curve)
    print(
        f"{name:<32} {epochs[name]:>2} epochs in {seconds:5.1f} s: "
        f"squared error per test image {curve[-1][1]:.2f}"
    )

# %%
# The error each model reached by the time the article's MLP finished its
# 50 epochs:
mlp_seconds = curves["article's MLP 784-64-32"][-1, 0]
for name, curve in curves.items():
    reached = curve[curve[:, 0] <= mlp_seconds]
    if len(reached):
        print(f"{name:<32} after {reached[-1, 0]:5.1f} s: {reached[-1, 1]:.2f}")

fig, ax = plt.subplots(figsize=(6, 4))
for name, curve in curves.items():
    ax.plot(curve[:, 0], curve[:, 1], marker="o", markersize=3, label=name)
ax.set_xlabel("training time (s)")
ax.set_ylabel("squared error per test image")
ax.set_yscale("log")
ax.legend()
ax.set_title("Test error while training")
fig.tight_layout()

# %%
# Reconstructions side by side
# ----------------------------
# The convolution sees that neighbouring pixels belong together; the MLP has
# to learn it from the data, one weight per pixel.
n_images = 10
reconstructions = {
    name: model.inverse_transform(model.transform(X_test[:n_images])) for name, model in models.items()
}
fig, axes = plt.subplots(len(models) + 1, n_images, figsize=(10, 3.4))
for ax_row, (name, images) in zip(
    axes, {"original": X_test[:n_images], **reconstructions}.items(), strict=True
):
    for ax, image in zip(ax_row, images, strict=True):
        ax.imshow(image.reshape(side, side), cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
    ax_row[0].set_ylabel(name.split(",")[0], rotation=0, ha="right", va="center", fontsize=9)
fig.suptitle("Test images and their reconstructions from 32 numbers")
fig.tight_layout()

# %%
# On the full training set and with more time, ``benchmarks/bench_networks.py``
# follows the same two curves; its figures are in the benchmarks page.
