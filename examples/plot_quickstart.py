"""
===========
Quick start
===========

:class:`~skvae.AutoencoderTransformer` and :class:`~skvae.VAETransformer` are
used like :class:`~sklearn.decomposition.PCA`: ``fit`` learns a code of
``n_components`` values per row, ``transform`` computes it, and
``inverse_transform`` maps codes back to the input space. This example fits
all three on scikit-learn's 8x8 digits, compares their reconstructions of
held-out digits, and uses the codes as features for a classifier.
"""

# %%
# The data
# --------
# 1797 images of 8x8 pixels with grey levels 0-16, scaled to [0, 1]. Neural
# networks train best on inputs of order one; see :ref:`scaling`.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from skvae import AutoencoderTransformer, VAETransformer

X, y = load_digits(return_X_y=True)
X = X / 16
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y, random_state=0)

# %%
# Fit, transform, inverse_transform
# ---------------------------------
# Each model compresses the 64 pixels into 8 numbers and sits in a pipeline in
# front of a logistic regression, which classifies the digits from those 8
# numbers. The networks train for at most ``max_iter=200`` epochs (passes over
# the data); an integer ``random_state`` makes the fit reproducible.
import warnings

# The losses still creep down after 200 epochs, which a ConvergenceWarning
# would say; the default budget is enough for this example.
warnings.filterwarnings("ignore", message="Maximum iterations")

models = {
    "PCA": PCA(n_components=8),
    "AutoencoderTransformer": AutoencoderTransformer(n_components=8, random_state=0),
    "VAETransformer": VAETransformer(n_components=8, random_state=0),
}
reconstructions = {}
for name, model in models.items():
    pipeline = make_pipeline(model, LogisticRegression(max_iter=2000)).fit(X_train, y_train)
    codes = model.transform(X_test)
    reconstructions[name] = model.inverse_transform(codes)
    error = np.mean((reconstructions[name] - X_test) ** 2)
    accuracy = pipeline.score(X_test, y_test)
    print(f"{name:<24} held-out squared error {error:.4f}, accuracy on the codes {accuracy:.3f}")

# %%
# The autoencoder's nonlinear code reconstructs the held-out digits with a
# smaller error than the 8 principal components, and the classifier does
# better on it. The VAE optimises a different objective, a likelihood with a
# penalty that keeps its codes close to a standard normal distribution, so its
# reconstructions are blurrier; its strengths are a calibrated score and a
# generative model (see :ref:`sphx_glr_auto_examples_plot_vae_generation.py`).
fig, axes = plt.subplots(4, 8, figsize=(8, 4.4))
rows = {"original": X_test, **reconstructions}
for ax_row, (name, images) in zip(axes, rows.items(), strict=True):
    for ax, image in zip(ax_row, images[:8], strict=True):
        ax.imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
    ax_row[0].set_ylabel(name.replace("Transformer", ""), rotation=0, ha="right", va="center")
fig.suptitle("Held-out digits and their reconstructions from 8 components")
fig.tight_layout()

# %%
# Scores and samples
# ------------------
# ``score_samples`` says how typical each row is (higher is more typical). For
# the autoencoder it is minus the squared reconstruction error; for the VAE an
# estimate of the log-likelihood log p(x), in nats. ``score`` averages it, so
# that model selection works without labels. The VAE also generates new rows.
vae = models["VAETransformer"]
print("autoencoder scores:", models["AutoencoderTransformer"].score_samples(X_test[:3]).round(2))
print("VAE log-likelihoods:", vae.score_samples(X_test[:3]).round(1))
print("VAE mean held-out log-likelihood:", round(vae.score(X_test), 1))
print("generated rows:", vae.sample(3, random_state=0).shape)
