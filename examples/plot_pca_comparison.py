"""
==============================================
Nonlinear dimensionality reduction next to PCA
==============================================

:class:`~sklearn.decomposition.PCA` finds the best *linear* projection of the
data: its code is a rotation of the data, and its decoder a plane through
it. An autoencoder's encoder and decoder are neural networks, so the code can
follow curved structure and the reconstructions can lie on a curved surface.
This example reduces the 64 pixels of scikit-learn's digits to 2 numbers with
PCA, :class:`~skvae.AutoencoderTransformer` and :class:`~skvae.VAETransformer`,
and compares

* the 2-D codes of held-out digits, coloured by the digit they show;
* how well each 2-D code keeps the information: reconstruction error, and the
  accuracy of a nearest-neighbour classifier on the codes;
* what each decoder makes of a regular grid of codes.
"""

# %%
# Fit the three reducers
# ----------------------
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier

from skvae import AutoencoderTransformer, VAETransformer

# The networks are still improving slowly after the default 200 epochs.
warnings.filterwarnings("ignore", message="Maximum iterations")

X, y = load_digits(return_X_y=True)
X = X / 16
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)

reducers = {
    "PCA": PCA(n_components=2),
    "AutoencoderTransformer": AutoencoderTransformer(n_components=2, random_state=0),
    # One variance shared by the pixels: see below.
    "VAETransformer": VAETransformer(n_components=2, likelihood="gaussian_shared", random_state=0),
}
codes = {}
for name, reducer in reducers.items():
    reducer.fit(X_train)
    codes[name] = reducer.transform(X_test)
    error = np.mean(np.sum((reducer.inverse_transform(codes[name]) - X_test) ** 2, axis=1))
    knn = KNeighborsClassifier(n_neighbors=5).fit(reducer.transform(X_train), y_train)
    accuracy = knn.score(codes[name], y_test)
    print(f"{name:<24} squared error per digit {error:5.2f}, 5-NN accuracy on the 2-D codes {accuracy:.2f}")

# %%
# The 2-D codes
# -------------
# PCA's two directions of largest variance separate a few digits (0, 4, 6)
# and pile the others on top of each other. The networks' codes keep more of
# the classes apart, which the nearest-neighbour accuracy above measures. The
# VAE's code is pulled towards a standard normal distribution by its KL term,
# so it is centred and of unit scale; the autoencoder's code has no prescribed
# scale.
#
# The VAE here has one noise variance shared by all pixels
# (``likelihood="gaussian_shared"``). With the default, one variance per
# pixel, a 2-D VAE of these digits can explain them as the mean digit plus
# pixel noise and leave its code unused (the KL term then costs nothing):
# trained that way, its codes spread over a few tenths and the
# nearest-neighbour accuracy on them falls to about 0.53 (0.84 with the
# shared variance). A shared variance makes the code carry the digit.
fig, axes = plt.subplots(1, 3, figsize=(12, 4.2), layout="constrained")
for ax, (name, code) in zip(axes, codes.items(), strict=True):
    scatter = ax.scatter(code[:, 0], code[:, 1], c=y_test, cmap="tab10", s=8, vmin=-0.5, vmax=9.5)
    for digit in range(10):
        # Label each class at the median of its codes.
        x_mid, y_mid = np.median(code[y_test == digit], axis=0)
        ax.annotate(str(digit), (x_mid, y_mid), fontsize=13, weight="bold", ha="center", va="center")
    ax.set_title(name)
    ax.set_xlabel("component 1")
axes[0].set_ylabel("component 2")
fig.colorbar(scatter, ax=axes, ticks=range(10), label="digit")

# %%
# Decoding a grid of codes
# ------------------------
# ``inverse_transform`` decodes any code, not only those of real digits. A
# regular 8x8 grid over the range of each model's codes shows the surface
# that the decoder has learned: PCA's images are blends of the mean digit and
# two fixed patterns, the autoencoder's change shape from one digit to another
# across the plane.
n_grid = 8
fig, axes = plt.subplots(1, 2, figsize=(10, 5.2))
for ax, name in zip(axes, ["PCA", "AutoencoderTransformer"], strict=True):
    low, high = np.percentile(codes[name], [2, 98], axis=0)
    grid_x, grid_y = np.meshgrid(np.linspace(low[0], high[0], n_grid), np.linspace(high[1], low[1], n_grid))
    grid_codes = np.column_stack([grid_x.ravel(), grid_y.ravel()])
    images = reducers[name].inverse_transform(grid_codes).reshape(n_grid, n_grid, 8, 8)
    # One picture: the 8x8 images side by side, with a thin line between.
    mosaic = np.full((n_grid * 9 - 1, n_grid * 9 - 1), np.nan)
    for i in range(n_grid):
        for j in range(n_grid):
            mosaic[i * 9 : i * 9 + 8, j * 9 : j * 9 + 8] = images[i, j]
    cmap = plt.get_cmap("gray_r").with_extremes(bad="silver")
    ax.imshow(mosaic, cmap=cmap, vmin=0, vmax=1)
    ax.set_title(f"{name}: decoded grid of 2-D codes")
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()
