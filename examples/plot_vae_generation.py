"""
==============================================
Generating digits and interpolating with a VAE
==============================================

A :class:`~skvae.VAETransformer` is a generative model: its decoder turns any
point z of the latent space into the parameters of a distribution over rows,
and its prior says where the points z of real rows lie -- close to a
standard normal distribution. So ``sample`` draws z from N(0, I) and decodes
it into new rows, and ``inverse_transform`` decodes any path through the
latent space.

The digits are modelled with ``likelihood="bernoulli"``: each pixel, scaled
to [0, 1], is the probability of a black pixel, and the decoder's sigmoid
output gives these probabilities -- the images below.
"""

# %%
# Samples from the prior
# ----------------------
import warnings

import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import norm
from sklearn.datasets import load_digits

from skvae import VAETransformer

# The loss still creeps down after 200 epochs; the images need no more.
warnings.filterwarnings("ignore", message="Maximum iterations")

X, y = load_digits(return_X_y=True)
X = X / 16


def show_mosaic(ax, images, n_columns, title):
    """Draw 8x8 images side by side, with a thin line between them."""
    n_rows = int(np.ceil(len(images) / n_columns))
    mosaic = np.full((n_rows * 9 - 1, n_columns * 9 - 1), np.nan)
    for k, image in enumerate(images):
        i, j = divmod(k, n_columns)
        mosaic[i * 9 : i * 9 + 8, j * 9 : j * 9 + 8] = image.reshape(8, 8)
    ax.imshow(mosaic, cmap=plt.get_cmap("gray_r").with_extremes(bad="silver"), vmin=0, vmax=1)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])


vae = VAETransformer(n_components=8, likelihood="bernoulli", random_state=0).fit(X)
samples = vae.sample(48, random_state=0)
print("generated:", samples.shape, "pixel range", samples.min().round(2), "to", samples.max().round(2))

fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained")
show_mosaic(axes[0], X[:48], 8, "real digits")
show_mosaic(axes[1], samples, 8, "VAETransformer.sample(48)")

# %%
# Some samples are clear digits, many are blends of two or three: the 1797
# small images are little data for a generative model, and the prior also
# covers the regions between the classes. The images are the decoder's mean
# -- for Bernoulli pixels, the probability of each pixel being black -- and
# so are smoother than real digits.
#
# Interpolating between two digits
# --------------------------------
# ``transform`` gives the posterior mean of z for each row. Walking on a
# straight line between the codes of two digits and decoding each step with
# ``inverse_transform`` morphs one into the other through images that remain
# digit-like, as the latent space is smooth.
pairs = [(np.flatnonzero(y == a)[0], np.flatnonzero(y == b)[0]) for a, b in [(0, 6), (1, 7), (3, 8)]]
steps = np.linspace(0, 1, 10)
fig, axes = plt.subplots(len(pairs), 1, figsize=(10, 4.2), layout="constrained")
for ax, (start, end) in zip(axes, pairs, strict=True):
    z_start, z_end = vae.transform(X[[start, end]])
    path = (1 - steps[:, None]) * z_start + steps[:, None] * z_end
    images = np.vstack([X[start], vae.inverse_transform(path), X[end]])
    show_mosaic(ax, images, len(images), f"digit {y[start]} to digit {y[end]} (real images at both ends)")

# %%
# The whole latent space of a 2-D VAE
# -----------------------------------
# With two latent variables the latent space can be drawn whole: decode a
# regular grid of z whose coordinates are quantiles of the standard normal
# prior, so that each tile covers the same probability mass. Each digit
# class has its region, and neighbouring regions blend into each other.
vae_2d = VAETransformer(n_components=2, likelihood="bernoulli", random_state=0).fit(X)
n_grid = 15
quantiles = norm.ppf(np.linspace(0.03, 0.97, n_grid))
z1, z2 = np.meshgrid(quantiles, quantiles[::-1])
grid = vae_2d.inverse_transform(np.column_stack([z1.ravel(), z2.ravel()]))

fig, axes = plt.subplots(1, 2, figsize=(11, 5.2), layout="constrained", width_ratios=[1, 1.1])
show_mosaic(axes[0], grid, n_grid, "decoded grid of the 2-D latent space")
codes = vae_2d.transform(X)
points = axes[1].scatter(codes[:, 0], codes[:, 1], c=y, cmap="tab10", s=6, vmin=-0.5, vmax=9.5)
axes[1].set_xlim(quantiles[0] - 0.3, quantiles[-1] + 0.3)
axes[1].set_ylim(quantiles[0] - 0.3, quantiles[-1] + 0.3)
axes[1].set_xlabel("z1 (posterior mean)")
axes[1].set_ylabel("z2 (posterior mean)")
axes[1].set_title("where the real digits lie")
fig.colorbar(points, ax=axes[1], ticks=range(10), label="digit")
