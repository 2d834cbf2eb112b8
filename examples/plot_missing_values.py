"""
===========================================
Missing values and categories: Adult census
===========================================

The Adult census table mixes numbers (age, hours per week, capital gains)
with categorical columns (work class, occupation, marital status), and its
``workclass`` and ``occupation`` columns have real empty cells. skvae takes
the table as it is -- no imputer, no one-hot encoder in front:

* :class:`~skvae.VAEImputer` fills the empty cells from what the other
  cells of the row say;
* :class:`~skvae.VAETransformer` reduces the incomplete rows to two
  dimensions, each row encoded from the cells it has;
* :class:`~skvae.VAEOutlierDetector` lists the most unusual rows, with one
  contribution per column -- categories included -- and counts a category
  that no training row had as evidence that its row is unusual.

The example reads ``adult.csv`` from the project's data folder
(``../shared/data/tables``) when it exists, and otherwise builds a small
synthetic table of the same kind, and says which it used.
"""

# %%
# The table
# ---------
# The categorical columns hold integer codes in the file (their labels were
# not kept): giving them the pandas ``category`` dtype is all skvae needs to
# treat them as categories.
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from skvae import VAEImputer, VAEOutlierDetector, VAETransformer

torch.set_num_threads(1)
warnings.filterwarnings("ignore", category=UserWarning)  # ConvergenceWarning and the like, for brevity

CATEGORICAL = ["workclass", "marital_status", "occupation", "relationship", "race", "sex"]
candidates = [Path("../shared/data/tables/adult.csv"), Path("../../shared/data/tables/adult.csv")]
adult_path = next((path for path in candidates if path.exists()), None)

if adult_path is not None:
    table = pd.read_csv(adult_path).sample(4000, random_state=0).reset_index(drop=True)
    print(f"Adult: 4000 of the rows of {adult_path.name}")
else:
    rng = np.random.RandomState(0)
    n = 4000
    age = rng.randint(18, 80, n)
    table = pd.DataFrame(
        {
            "age": age,
            "workclass": rng.randint(0, 4, n),
            "education_num": np.clip(rng.normal(10, 3, n).round(), 1, 16),
            "marital_status": (age > 30).astype(int) + rng.randint(0, 2, n),
            "occupation": rng.randint(0, 8, n),
            "relationship": rng.randint(0, 5, n),
            "race": rng.randint(0, 3, n),
            "sex": rng.randint(0, 2, n),
            "capital_gain": np.where(rng.rand(n) < 0.1, np.exp(rng.normal(8, 1, n)), 0.0),
            "hours_per_week": np.clip(rng.normal(40, 10, n).round(), 1, 99),
        }
    )
    table.loc[rng.rand(n) < 0.06, ["workclass", "occupation"]] = np.nan
    print("adult.csv not found: a synthetic table of 4000 rows")

table[CATEGORICAL] = table[CATEGORICAL].astype("Int64").astype("category")
print(table.isna().sum()[lambda counts: counts > 0])
table.head()

# %%
# Impute
# ------
# The imputer is fitted on the incomplete table itself; observed cells pass
# through unchanged; the categorical columns come back as categories, the
# numeric ones as floats.
imputer = VAEImputer(max_iter=40, random_state=0).set_output(transform="pandas")
filled = imputer.fit_transform(table)
missing_rows = table["occupation"].isna()
print(filled.loc[missing_rows, ["age", "workclass", "occupation", "hours_per_week"]].head())

# %%
# Reduce to two dimensions
# ------------------------
# Incomplete rows are encoded from the cells they have; colouring by a
# column shows what the two latent variables learned.
vae = VAETransformer(n_components=2, max_iter=40, random_state=0)
codes = vae.fit_transform(table)

fig, axes = plt.subplots(1, 2, figsize=(10, 4.5), sharex=True, sharey=True)
for ax, column in zip(axes, ["sex", "relationship"], strict=True):
    for category in table[column].cat.categories:
        rows = (table[column] == category).to_numpy()
        ax.scatter(*codes[rows].T, s=3, alpha=0.5, label=f"{column} {category}")
    ax.set_title(f"The codes, by {column}")
    ax.legend(markerscale=4, fontsize=7)
axes[0].scatter(*codes[missing_rows.to_numpy()].T, s=8, c="k", marker="x", label="occupation missing")
axes[0].legend(markerscale=2, fontsize=7)
fig.tight_layout()

# %%
# The most unusual rows, column by column
# ---------------------------------------
# The detector's score is the log-likelihood of each row's observed cells,
# each missing cell counted at its column's typical log-likelihood, so that
# incomplete rows rank alongside complete ones. ``feature_contributions``
# gives one term per column: the most negative ones say which cells make the
# row unusual.
detector = VAEOutlierDetector(random_state=0).fit(table)
scores = detector.score_samples(table)
unusual = np.argsort(scores)[:5]
contributions = detector.feature_contributions(table.iloc[unusual])
for row, (index, terms) in zip(unusual, contributions.iterrows(), strict=True):
    worst = terms.nsmallest(3)
    cells = ", ".join(f"{name}={table.loc[index, name]} ({value:.1f})" for name, value in worst.items())
    print(f"row {row}: score {scores[row]:.1f}; most unusual cells: {cells}")

# %%
# A category no training row had
# ------------------------------
# To the networks a category they never saw is a missing cell (with a
# warning), but to the detector it is evidence: the score counts it as a
# category of probability 1 / (n + 1) after the column's n training cells,
# and the contributions name its column.
new_rows = table.iloc[:3].copy()
new_rows["occupation"] = new_rows["occupation"].cat.add_categories([99])
new_rows.loc[new_rows.index[0], "occupation"] = 99  # an occupation code no row holds
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    new_scores = detector.score_samples(new_rows)
    new_terms = detector.feature_contributions(new_rows.iloc[:1])
print(next(warning.message for warning in caught if "not seen in fit" in str(warning.message)))
print(f"scores before {np.round(scores[:3], 1)}, with the new occupation {np.round(new_scores, 1)}")
worst = new_terms.iloc[0].nsmallest(2)
print(
    "most unusual cells of the first row:",
    ", ".join(f"{name} ({value:.1f})" for name, value in worst.items()),
)
