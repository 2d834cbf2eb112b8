"""Do the detectors flag rows that hold a category no training row had?

The adult table of ``bench_impute.py`` (a 10,000-row subset, ``cat`` columns as pandas ``category``,
the others floats; its complete rows), split 70/30. Of up to ``--n-rows`` held-out rows, half get one
categorical cell (a column drawn at random) replaced by a label no training row held; the detectors,
fitted on the training rows with their defaults, score them all. ROC-AUC of those rows against the
others, with the scores as the detectors give them and with such cells made missing (as the
detectors read them before they counted new categories, and as the user guide's recipe to ignore
them does). Peers, as a scikit-learn user would build them: IsolationForest after a
ColumnTransformer that one-hot encodes the categories (``handle_unknown="ignore"``: a new label is
no category at all) or ordinal-encodes them (``unknown_value=-1``: a new label is a code below the
others).

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_new_categories.py [--seeds 0 1 2]

This script is no test: it prints a markdown table and asserts nothing.
"""

import argparse
import warnings
from pathlib import Path

import numpy as np
import torch
from bench_explanations import DETECTORS
from bench_impute import DEFAULT_DATA_DIR, load_table, user_view
from sklearn.compose import make_column_transformer
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder
from threadpoolctl import threadpool_limits

NEW_LABEL = -1.0  # the tables' categories are codes 1..n_classes


def rows_with_new_labels(table, X, rng):
    """X as the user holds it, half its rows with one categorical cell holding a new label, and which."""
    frame = user_view(table, X)
    categorical = [j for j, kind in enumerate(table.types) if kind == "cat"]
    for j in categorical:
        frame[table.columns[j]] = frame[table.columns[j]].cat.add_categories([NEW_LABEL])
    altered = rng.rand(len(frame)) < 0.5
    for i, j in zip(np.flatnonzero(altered), rng.choice(categorical, altered.sum()), strict=True):
        frame.iat[i, j] = NEW_LABEL
    return frame, altered


def known_labels_only(frame, table):
    """The frame with the new labels made missing, as the user guide's recipe to ignore them."""
    frame = frame.copy()
    for name, kind in zip(table.columns, table.types, strict=True):
        if kind == "cat":
            frame[name] = frame[name].where(frame[name] != NEW_LABEL)
    return frame


def isolation_forest(encoder, categorical_columns, seed):
    encode = make_column_transformer((encoder, categorical_columns), remainder="passthrough")
    return make_pipeline(encode, IsolationForest(random_state=seed))


PEERS = {
    "IsolationForest, one-hot": lambda columns, seed: isolation_forest(
        OneHotEncoder(handle_unknown="ignore"), columns, seed
    ),
    "IsolationForest, ordinal": lambda columns, seed: isolation_forest(
        OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), columns, seed
    ),
}


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--n-rows", type=int, default=1000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    table = load_table(args.data_dir, "adult", [20])
    X = table.values[~np.isnan(table.values).any(axis=1)]
    categorical_columns = [
        name for name, kind in zip(table.columns, table.types, strict=True) if kind == "cat"
    ]
    results = {}
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the new labels' UserWarning, on every call
        for seed in args.seeds:
            X_train, X_test = train_test_split(X, test_size=0.3, random_state=seed)
            rows, altered = rows_with_new_labels(table, X_test[: args.n_rows], np.random.RandomState(seed))
            for name, make_peer in PEERS.items():
                peer = make_peer(categorical_columns, seed).fit(user_view(table, X_train))
                results.setdefault((name, ""), []).append(roc_auc_score(altered, -peer.score_samples(rows)))
            for name, detector_class in DETECTORS.items():
                detector = detector_class(random_state=seed).fit(user_view(table, X_train))
                counted = detector.score_samples(rows)
                as_missing = detector.score_samples(known_labels_only(rows, table))
                for how, scores in (("counted as new", counted), ("made missing", as_missing)):
                    results.setdefault((name, how), []).append(roc_auc_score(altered, -scores))
    print(f"adult, {len(X)} complete rows; ROC-AUC of the rows holding a new label, seeds {args.seeds}\n")
    print("| detector | new labels | ROC-AUC, mean | per seed |")
    print("|---|---|---|---|")
    for (name, how), values in results.items():
        print(f"| {name} | {how} | {np.mean(values):.3f} | {', '.join(f'{v:.3f}' for v in values)} |")


if __name__ == "__main__":
    main()
