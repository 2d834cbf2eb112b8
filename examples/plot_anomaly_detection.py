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
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

# The networks' losses still creep down after the default 200 epochs; the
# rankings below do not need more.
warnings.filterwarnings("ignore", message="Maximum iterations")

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
# ``feature_contributions`` splits each row's score into one term per feature;
# the most negative terms are the features that make the row abnormal. For the
# autoencoder a term is the feature's squared reconstruction error, divided by
# that feature's mean squared error on the training rows, with a minus sign:
# the terms add up to ``score_samples``. A pipeline does not forward this
# method: call it on the pipeline's last step, with the rows transformed by the
# steps before it. Thanks to ``set_output(transform="pandas")`` the result is a
# DataFrame with the sensors' names.
worst = np.argsort(decision)[:4]
contributions = autoencoder[-1].feature_contributions(autoencoder[:-1].transform(X.iloc[worst]))
contributions.round(1)

# %%
# For the four most abnormal rows, the bars show each sensor's contribution,
# and the truly broken sensors are drawn in red. The largest contributions
# mostly point at them, but not only: a broken value also pulls the row's
# code away from where the intact sensors would put it, so some intact
# sensors are reconstructed badly too. Read the contributions as a pointer
# to where to look, not as a proof.
fig, axes = plt.subplots(1, 4, figsize=(12, 3.8), sharey=True, layout="constrained")
for ax, row in zip(axes, worst, strict=True):
    colors = ["tab:red" if j in broken.get(row, ()) else "tab:gray" for j in range(n_sensors)]
    ax.barh(range(n_sensors), contributions.loc[row], color=colors)
    ax.set_title(f"row {row}")
    ax.set_xlabel("contribution")
axes[0].set_yticks(range(n_sensors), X.columns)
axes[0].invert_yaxis()
fig.suptitle("feature_contributions of the four most abnormal rows (broken sensors in red)")

# %%
# Over all broken rows: how often is the most negative contribution a broken
# sensor, and how often is one among the three most negative?
all_contributions = autoencoder[-1].feature_contributions(autoencoder[:-1].transform(X)).to_numpy()
ranking = {row: np.argsort(all_contributions[row]) for row in broken}
first = np.mean([ranking[row][0] in sensors for row, sensors in broken.items()])
top3 = np.mean([bool(set(ranking[row][:3]) & set(sensors)) for row, sensors in broken.items()])
print(f"largest contribution from a broken sensor: {first:.0%} of broken rows")
print(f"a broken sensor among the three largest: {top3:.0%} of broken rows")
print(f"(by chance: {3 / n_sensors:.0%} and {1 - (9 * 8 * 7) / (12 * 11 * 10):.0%})")

# %%
# Some broken rows are hard to tell, and to explain: when a sensor's copied
# value happens to be close to its own, nothing is broken in effect.
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
