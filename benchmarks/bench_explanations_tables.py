"""Do the explanations name the right columns of a table with categorical columns?

``bench_explanations.py adbench``'s protocol on the HI-VAE tables of ``bench_impute.py`` (breast, wine,
adult: ``cat`` columns as pandas ``category``, the others floats, adult a 10,000-row subset), their
complete rows only: a 70/30 split; up to ``--n-explain`` held-out rows get k = 1, 2 or 3 cells from
another held-out row, at columns where the donor differs -- another category, or a number at least
half a training standard deviation away; the detectors (default parameters, no scaler: they
standardise a table's numeric columns themselves) fit on the training rows and explain the corrupted
rows. precision@k is the share of the k most negative contributions that are broken cells; beside it,
the share of the broken categorical cells, and of the broken numeric ones, among the k named. Peers:

  surprise            each cell's own improbability, column by column: z^2 / 2 for a number, minus the
                      log of its category's training frequency for a category
  PCA error (one-hot) per-column squared reconstruction error of PCA on the standardised numbers and
                      the categories one-hot (a column's error summed over its block), with as many
                      components as the VAE detector's code

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_explanations_tables.py [--tables wine] [--seeds 0 1 2]

This script is no test: it prints markdown tables and asserts nothing.
"""

import argparse
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from bench_explanations import DETECTORS, precision_at_k
from bench_impute import DEFAULT_DATA_DIR, TABLES, load_table, user_view
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

METHODS = ("robust", "reconstruction")


def corrupt(X, k, std, is_categorical, rng):
    """Copies of rows of X with k cells each from another row of X, where that row's cell is another
    category or a number at least half a standard deviation away. Returns (rows, mask of broken cells)."""
    out, masks = [], []
    for row in X:
        for _ in range(20):
            donor = X[rng.randint(len(X))]
            differs = np.where(is_categorical, donor != row, np.abs(donor - row) >= 0.5 * std) & (
                donor != row
            )
            candidates = np.flatnonzero(differs)
            if len(candidates) >= k:
                break
        else:
            continue
        broken = np.zeros(len(row), dtype=bool)
        broken[rng.choice(candidates, k, replace=False)] = True
        out.append(np.where(broken, donor, row))
        masks.append(broken)
    return np.array(out), np.array(masks)


# -- peers: (n_rows, n_columns), most negative = most abnormal ----------------------


def explain_surprise(X_train, X_explain, is_categorical, n_components):
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    surprise = 0.5 * np.square((X_explain - mean) / np.where(std > 0, std, 1.0))
    for j in np.flatnonzero(is_categorical):
        frequency = pd.Series(X_train[:, j]).value_counts(normalize=True)
        share = pd.Series(X_explain[:, j]).map(frequency).fillna(1 / (len(X_train) + 1))
        surprise[:, j] = -np.log(share.to_numpy())
    return -surprise


def explain_pca(X_train, X_explain, is_categorical, n_components):
    numeric = ~is_categorical
    mean, std = X_train[:, numeric].mean(axis=0), X_train[:, numeric].std(axis=0)
    categories = {j: np.unique(X_train[:, j]) for j in np.flatnonzero(is_categorical)}

    def blocks(X):
        """Each column's block of the PCA's inputs: a standardised number, or a category one-hot."""
        numbers = iter(((X[:, numeric] - mean) / np.where(std > 0, std, 1.0)).T)
        return [
            (X[:, [j]] == categories[j]).astype(float) if j in categories else next(numbers)[:, None]
            for j in range(X.shape[1])
        ]

    pca = PCA(n_components=n_components).fit(np.hstack(blocks(X_train)))
    parts = blocks(X_explain)
    Z = np.hstack(parts)
    errors = np.square(Z - pca.inverse_transform(pca.transform(Z)))
    ends = np.cumsum([part.shape[1] for part in parts])
    return -np.stack(
        [errors[:, end - part.shape[1] : end].sum(axis=1) for part, end in zip(parts, ends, strict=True)],
        axis=1,
    )


PEERS = {"surprise": explain_surprise, "PCA error (one-hot)": explain_pca}


# -- the experiment --------------------------------------------------------------------


def named_shares(contributions, broken, is_categorical):
    """Of the broken categorical cells, and of the broken numeric ones, the shares among the k named."""
    order = np.argsort(contributions, axis=1, kind="stable")
    named = np.zeros_like(broken)
    for i, k in enumerate(broken.sum(axis=1)):
        named[i, order[i, :k]] = True
    hits = named & broken
    return tuple(
        hits[:, kind].sum() / max(broken[:, kind].sum(), 1) for kind in (is_categorical, ~is_categorical)
    )


def run_table(name, args, results):
    table = load_table(args.data_dir, name, [20])
    X = table.values[~np.isnan(table.values).any(axis=1)]
    is_categorical = np.array([kind == "cat" for kind in table.types])
    print(
        f"<!-- {name}: {len(X)} complete rows of {len(table.values)}, "
        f"{is_categorical.sum()} categorical columns of {X.shape[1]} -->"
    )
    for seed in args.seeds:
        rng = np.random.RandomState(seed)
        X_train, X_test = train_test_split(X, test_size=0.3, random_state=seed)
        X_test = X_test[: args.n_explain]
        cases = {k: corrupt(X_test, k, X_train.std(axis=0), is_categorical, rng) for k in (1, 2, 3)}
        detectors = {}
        for detector_name, detector_class in DETECTORS.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                detectors[detector_name] = detector_class(random_state=seed).fit(user_view(table, X_train))
        n_components = detectors["VAE"].n_components_
        for k, (rows, broken) in cases.items():
            explanations = {
                peer: explain(X_train, rows, is_categorical, n_components) for peer, explain in PEERS.items()
            }
            for detector_name, detector in detectors.items():
                for method in METHODS:
                    contributions = detector.feature_contributions(user_view(table, rows), method=method)
                    explanations[f"{detector_name} {method}"] = contributions.to_numpy(dtype=float)
            for label, contributions in explanations.items():
                shares = named_shares(contributions, broken, is_categorical)
                results.setdefault((name, k, label), []).append(
                    (precision_at_k(contributions, broken), *shares)
                )


def print_tables(results, tables):
    labels = list(dict.fromkeys(label for _, _, label in results))
    columns = [(name, k) for name in tables for k in (1, 2, 3)]
    for title, part in (("precision@k", 0), ("share of broken categorical / numeric cells named", None)):
        print(f"\n**{title}** (mean over seeds)\n")
        print("| explanation | " + " | ".join(f"{name} k={k}" for name, k in columns) + " |")
        print("|---" * (len(columns) + 1) + "|")
        for label in labels:
            means = [np.mean(results[(name, k, label)], axis=0) for name, k in columns]
            cells = [f"{m[0]:.2f}" if part == 0 else f"{m[1]:.2f} / {m[2]:.2f}" for m in means]
            print(f"| {label} | " + " | ".join(cells) + " |")


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--tables", nargs="*", default=TABLES, choices=TABLES)
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--n-explain", type=int, default=300)
    args = parser.parse_args()
    torch.set_num_threads(1)
    results = {}
    with threadpool_limits(1):
        for name in args.tables:
            run_table(name, args, results)
    print_tables(results, args.tables)


if __name__ == "__main__":
    main()
