"""
=====================================
Anomaly detection and its explanation
=====================================

:class:`~skvae.AutoencoderOutlierDetector` flags the rows that an autoencoder
reconstructs badly, :class:`~skvae.VAEOutlierDetector` the rows to which a VAE
gives a low likelihood. Both have scikit-learn's outlier-detection API --
``contamination``, ``offset_``, ``decision_function``, ``predict`` -- and
``feature_contributions``, which tells which features make a row abnormal.

The first data set is generated so that the truth is known: twelve sensors
driven by a few hidden factors, and a few rows in which some sensors are
broken. A broken sensor reads a value that is typical on its own, but does
not fit with the other sensors of its row. That is where an autoencoder
shines, and where a detector that looks at one feature at a time, like
:class:`~sklearn.ensemble.IsolationForest`, struggles. The last section shows
the opposite case.
"""

# %%
# Sensors with broken rows
# ------------------------
# Each normal row is a point on a smooth curved surface: the twelve readings
# are functions of a phase ``t`` and a level ``s``, plus a little noise. In 5%
# of the rows three sensors are broken: they read the values of another row.

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

rng = np.random.RandomState(0)
n_rows, n_sensors, n_broken_rows = 1000, 12, 50
t = rng.uniform(-np.pi, np.pi, size=n_rows)
s = rng.normal(size=n_rows)
frequency, phase = rng.uniform(0.5, 2, n_sensors), rng.uniform(0, 2 * np.pi, n_sensors)
weight = rng.normal(size=n_sensors)
X = np.sin(np.outer(t, frequency) + phase) + 0.5 * np.outer(s, weight)
X += 0.05 * rng.normal(size=X.shape)

is_anomaly = np.zeros(n_rows, dtype=bool)
broken = {}  # row -> the sensors broken in it
for row in rng.choice(n_rows, n_broken_rows, replace=False):
    sensors = rng.choice(n_sensors, 3, replace=False)
    X[row, sensors] = X[rng.randint(n_rows), sensors]
    is_anomaly[row] = True
    broken[row] = sensors
X = pd.DataFrame(X, columns=[f"sensor_{j}" for j in range(n_sensors)])
X.describe().loc[["mean", "std", "min", "max"]].round(2)

# %%
# Detectors in a pipeline
# -----------------------
# The detectors train neural networks: standardise the inputs first (see
# :ref:`scaling`). ``contamination=0.05`` says that 5% of the training rows
# are expected to be anomalies: ``offset_`` is set to the 5th percentile of
# the training scores, and ``predict`` flags the rows below it. Here the
# detectors are fitted on all rows, anomalies included, and judge those same
# rows -- the usual unsupervised setting.
from sklearn.ensemble import IsolationForest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skvae import AutoencoderOutlierDetector, VAEOutlierDetector

detectors = {
    "AutoencoderOutlierDetector": make_pipeline(
        StandardScaler(), AutoencoderOutlierDetector(n_components=4, contamination=0.05, random_state=0)
    ).set_output(transform="pandas"),
    "VAEOutlierDetector": make_pipeline(
        StandardScaler(), VAEOutlierDetector(n_components=4, contamination=0.05, random_state=0)
    ).set_output(transform="pandas"),
    "IsolationForest": IsolationForest(contamination=0.05, random_state=0),
}
for detector in detectors.values():
    detector.fit(X)

autoencoder = detectors["AutoencoderOutlierDetector"]
labels = autoencoder.predict(X)
print("predict says -1 for", np.sum(labels == -1), "rows and +1 for", np.sum(labels == 1))
print("of the flagged rows,", np.sum(is_anomaly[labels == -1]), "are broken")

# %%
# The signs follow scikit-learn: ``score_samples`` and ``decision_function``
# are *higher for normal rows*, ``decision_function`` is ``score_samples``
# minus ``offset_`` and is negative exactly where ``predict`` says -1.
scores = autoencoder.score_samples(X)
decision = autoencoder.decision_function(X)
print("offset_:", round(autoencoder[-1].offset_, 2))
print(
    "decision_function == score_samples - offset_:", np.allclose(decision, scores - autoencoder[-1].offset_)
)
print("predict == -1 exactly where decision_function < 0:", np.array_equal(labels == -1, decision < 0))

# %%
# How well do the scores rank the rows?
# -------------------------------------
# A ROC curve needs an anomaly score that is *higher for anomalies*: minus
# ``decision_function``. The networks learn the curved surface on which normal
# rows lie and see the broken rows fall off it; the forest sees values that
# are typical one by one, and does much worse. The histogram shows the
# autoencoder's decision function for both kinds of rows, and its threshold.
from sklearn.metrics import RocCurveDisplay

fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), layout="constrained")
for name, detector in detectors.items():
    RocCurveDisplay.from_predictions(is_anomaly, -detector.decision_function(X), name=name, ax=axes[0])
axes[0].set_title("Finding the broken rows")

# The scores of the broken rows spread over orders of magnitude: bins of equal
# width on a symmetric log scale.
edges = np.linspace(-np.log1p(-decision.min()), np.log1p(decision.max()), 60)
bins = np.sign(edges) * np.expm1(np.abs(edges))
axes[1].hist(decision[~is_anomaly], bins=bins, alpha=0.7, label="normal rows")
axes[1].hist(decision[is_anomaly], bins=bins, alpha=0.7, label="broken rows")
axes[1].axvline(0, color="black", linestyle="--", label="threshold (offset_)")
axes[1].set_xscale("symlog")
axes[1].set_yscale("log")
axes[1].set_xlabel("AutoencoderOutlierDetector.decision_function")
axes[1].set_ylabel("rows")
axes[1].legend()
axes[1].set_title("Most normal rows score above 0, most broken rows below")

# %%
# Which sensors are broken?
# -------------------------
# ``feature_contributions`` gives each row one term per feature; the most
# negative terms are the features that make the row abnormal. By default
# (``method="robust"``) the detector encodes each row again, robustly: it
# looks for the code that fits as many sensors as it can, so that the broken
# ones cannot pull it, and each sensor's term is minus its squared error from
# the fit *without that sensor* -- in units of the sensor's mean error on the
# training rows for the autoencoder, in nats for the VAE. A pipeline does not
# forward this method: call it on the pipeline's last step, with the rows
# transformed by the steps before it. Thanks to
# ``set_output(transform="pandas")`` the result is a DataFrame with the
# sensors' names.
vae = detectors["VAEOutlierDetector"]
worst = np.argsort(vae.decision_function(X))[:4]
contributions = vae[-1].feature_contributions(vae[:-1].transform(X.iloc[worst]))
contributions.round(1)

# %%
# For the four most abnormal rows, the bars show each sensor's contribution,
# and the truly broken sensors are drawn in red.
fig, axes = plt.subplots(1, 4, figsize=(12, 3.8), sharey=True, layout="constrained")
for ax, row in zip(axes, worst, strict=True):
    colors = ["tab:red" if j in broken.get(row, ()) else "tab:gray" for j in range(n_sensors)]
    ax.barh(range(n_sensors), contributions.loc[row], color=colors)
    ax.set_title(f"row {row}")
    ax.set_xlabel("contribution")
axes[0].set_yticks(range(n_sensors), X.columns)
axes[0].invert_yaxis()
fig.suptitle(
    "VAEOutlierDetector.feature_contributions of the four most abnormal rows (broken sensors in red)"
)

# %%
# Over all 50 broken rows: which share of the three most negative
# contributions are broken sensors (precision@3; by chance 25%)?
# ``method="reconstruction"`` gives the terms of the score itself instead:
# the autoencoder's add up to ``score_samples``. They spread the blame: a
# broken value pulls the row's code away from where the intact sensors would
# put it, and intact sensors are then reconstructed badly too.
broken_rows = list(broken)
is_broken = np.zeros((len(broken_rows), n_sensors), dtype=bool)
for i, row in enumerate(broken_rows):
    is_broken[i, broken[row]] = True
for name in ["AutoencoderOutlierDetector", "VAEOutlierDetector"]:
    detector = detectors[name]
    Z = detector[:-1].transform(X.iloc[broken_rows])
    for method in ["robust", "reconstruction"]:
        top3 = np.argsort(detector[-1].feature_contributions(Z, method=method).to_numpy(), axis=1)[:, :3]
        precision = np.take_along_axis(is_broken, top3, axis=1).mean()
        print(f"{name:<27} method={method!r:<17} precision@3 {precision:.0%}")

# %%
# Some broken rows are hard to tell, and to explain: when a sensor's copied
# value happens to be close to its own, nothing is broken in effect. The
# explanations are also only as good as the model: trained longer (a larger
# ``max_iter``), both detectors reconstruct the surface more closely and name
# the broken sensors more often.
#
# When the forest wins
# --------------------
# The networks are no universal winners. In scikit-learn's breast cancer data
# the malignant tumours stand out by *extreme* values -- larger, more
# irregular cells -- which a forest isolates in a few splits. Here 30
# malignant tumours are mixed with the 357 benign ones, and IsolationForest
# ranks them best. With a few hundred rows, the networks also have little to
# learn from.
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import roc_auc_score

cancer, target = load_breast_cancer(return_X_y=True)
rows = np.concatenate(
    [np.flatnonzero(target == 1), rng.choice(np.flatnonzero(target == 0), 30, replace=False)]
)
X_cancer, is_malignant = cancer[rows], target[rows] == 0
for name, detector in {
    "AutoencoderOutlierDetector": make_pipeline(StandardScaler(), AutoencoderOutlierDetector(random_state=0)),
    "VAEOutlierDetector": make_pipeline(StandardScaler(), VAEOutlierDetector(random_state=0)),
    "IsolationForest": IsolationForest(random_state=0),
}.items():
    auc = roc_auc_score(is_malignant, -detector.fit(X_cancer).decision_function(X_cancer))
    print(f"{name:<28} ROC AUC {auc:.3f}")
