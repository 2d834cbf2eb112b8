"""Imputation on numeric tables that no VAEImputer default was chosen on.

``bench_impute.py`` runs the issue's tables, on which the defaults were chosen. This one asks
whether they carry over: scikit-learn's bundled tables and the normal rows of ADBench sets (at
most 3,000, ``default_rng(0)``), constant columns dropped, standardised; 20% and 50% of the
cells hidden (MCAR, ``default_rng(100 + seed)``, seeds 0-2); MSE on the hidden cells, as in the
MIWAE protocol. Each ``--variants`` entry is a VAEImputer (its defaults with those parameters)::

    OMP_NUM_THREADS=1 python benchmarks/bench_impute_numeric.py --peers \\
        --variants '{}' '{"early_stopping": true}'
"""

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn import datasets
from sklearn.ensemble import ExtraTreesRegressor
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.linear_model import BayesianRidge

from skvae import VAEImputer

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared/data/adbench"
SKLEARN_TABLES = {
    "iris": datasets.load_iris,
    "diabetes": datasets.load_diabetes,
    "wine": datasets.load_wine,
    "digits": datasets.load_digits,
}
ADBENCH_TABLES = ["vowels", "Ionosphere", "letter", "magic.gamma", "Stamps", "cardio", "pendigits"]
MAX_ROWS = 3000
PEERS = {
    "mean": lambda seed: SimpleImputer(),
    "KNNImputer": lambda seed: KNNImputer(n_neighbors=5),
    "IterativeImputer": lambda seed: IterativeImputer(
        estimator=BayesianRidge(), max_iter=10, random_state=seed
    ),
    "missForest-like": lambda seed: IterativeImputer(
        estimator=ExtraTreesRegressor(n_estimators=30, min_samples_leaf=2, random_state=seed, n_jobs=1),
        max_iter=5,
        random_state=seed,
    ),
}


def load_table(name, data_dir):
    if name in SKLEARN_TABLES:
        X = SKLEARN_TABLES[name]().data
    else:
        (path,) = data_dir.glob(f"*_{name}.npz")
        data = np.load(path)
        X = data["X"][data["y"] == 0]
        if len(X) > MAX_ROWS:
            X = X[np.random.default_rng(0).choice(len(X), MAX_ROWS, replace=False)]
    X = np.asarray(X, dtype=np.float64)
    X = X[:, X.std(axis=0) > 0]
    return (X - X.mean(axis=0)) / X.std(axis=0)


def run(make_imputer, X_full, rate, seeds):
    """Mean MSE on the hidden cells and mean CPU seconds of fit_transform, over the seeds."""
    errors, seconds = [], []
    for seed in seeds:
        hidden = np.random.default_rng(100 + seed).random(X_full.shape) < rate
        X = np.where(hidden, np.nan, X_full)
        start = time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            X_imputed = make_imputer(seed).fit_transform(X)
        seconds.append(time.process_time() - start)
        errors.append(float(np.mean((X_imputed - X_full)[hidden] ** 2)))
    return np.mean(errors), np.mean(seconds)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--tables", nargs="+", default=[*SKLEARN_TABLES, *ADBENCH_TABLES])
    parser.add_argument("--rates", nargs="+", type=int, default=[20, 50])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", default=["{}"], help="VAEImputer parameters, as JSON")
    parser.add_argument("--peers", action="store_true", help="also scikit-learn's imputers")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    imputers = {name: make for name, make in PEERS.items() if args.peers}
    for variant in args.variants:
        params = json.loads(variant)
        imputers[f"VAEImputer {variant}"] = lambda seed, p=params: VAEImputer(random_state=seed, **p)

    print(f"MSE on the hidden cells (CPU s of fit_transform), mean over seeds {args.seeds}\n")
    print("| table | rows x columns | hidden | " + " | ".join(imputers) + " |")
    print("|---|---|---|" + "---|" * len(imputers))
    for name in args.tables:
        X = load_table(name, args.data_dir)
        for rate in args.rates:
            cells = [run(make, X, rate / 100, args.seeds) for make in imputers.values()]
            shape = f"{X.shape[0]} x {X.shape[1]}"
            row = " | ".join(f"{error:.3f} ({seconds:.1f})" for error, seconds in cells)
            print(f"| {name} | {shape} | {rate}% | {row} |", flush=True)


if __name__ == "__main__":
    main()
