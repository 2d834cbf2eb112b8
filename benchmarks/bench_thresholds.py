"""New rows a detector fitted on few rows flags, its threshold from its training rows or rows set aside.

``offset_`` is set from the training rows' scores (``contamination``), as scikit-learn's detectors
set theirs, and a model fits its own training rows better than new ones: the fewer the rows, the
more new normal rows fall below a threshold set on them. This script measures that on the ADBench
sets with at least ``--min-normal`` normal rows (default 1,500): a stratified 70/30 split (seed 0),
``--sizes`` training rows drawn from the training part (anomalies among them as they come), a
StandardScaler fitted on them, and the share of the test part's normal rows and of its anomalies
that ``predict`` flags, for

* the detector as fitted (``contamination="auto"``: Tukey's fence of its training rows' scores), and
* the same detector with ``offset_`` from rows set aside: a detector of the same parameters fitted
  on four fifths of the training rows, Tukey's fence of its scores of the last fifth (the recipe of
  the user guide's "Scores, threshold and signs").

IsolationForest (its fixed "auto" threshold) is printed for reference. Seeds ``--seeds``; means over
the data sets. It asserts nothing and prints a Markdown table::

    OMP_NUM_THREADS=1 python benchmarks/bench_thresholds.py                 # 19 data sets, ~15 minutes
    OMP_NUM_THREADS=1 python benchmarks/bench_thresholds.py --sizes 100 --datasets letter musk
"""

import argparse
import warnings
from pathlib import Path

import numpy as np
import torch
from bench_anomaly import DEFAULT_DATA_DIR, find_dataset_files, load_dataset
from sklearn.base import clone
from sklearn.ensemble import IsolationForest
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skvae import AutoencoderOutlierDetector, VAEOutlierDetector

COLUMNS = [
    "IsolationForest",
    "VAE, training rows",
    "VAE, rows set aside",
    "AE, training rows",
    "AE, rows set aside",
]


def offset_from_rows_set_aside(detector, X, seed):
    """Tukey's fence of the scores that a detector of the same parameters, fitted on four fifths of
    X, gives the last fifth."""
    order = np.random.default_rng(seed).permutation(len(X))
    n_set_aside = int(np.ceil(0.2 * len(X)))
    scores = clone(detector).fit(X[order[n_set_aside:]]).score_samples(X[order[:n_set_aside]])
    q1, q3 = np.percentile(scores, [25, 75])
    return q1 - 1.5 * (q3 - q1)


def flagged(detector, X_test, y_test):
    """The share of the test part's normal rows, and of its anomalies, that ``predict`` flags."""
    is_outlier = detector.predict(X_test) == -1
    return is_outlier[y_test == 0].mean(), is_outlier[y_test == 1].mean()


def measure(X, y, n_rows, seed):
    """{column: (normal rows flagged, anomalies flagged)} for one data set, size and seed."""
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=seed)
    rows = np.random.default_rng(seed).permutation(len(X_train))[:n_rows]
    scaler = StandardScaler().fit(X_train[rows])
    # A column constant in the rows drawn has scale 1: its test values stay finite.
    A, B = scaler.transform(X_train[rows]), scaler.transform(X_test)
    result = {"IsolationForest": flagged(IsolationForest(random_state=seed).fit(A), B, y_test)}
    for name, cls in (("VAE", VAEOutlierDetector), ("AE", AutoencoderOutlierDetector)):
        detector = cls(random_state=seed).fit(A)
        result[f"{name}, training rows"] = flagged(detector, B, y_test)
        detector.offset_ = offset_from_rows_set_aside(detector, A, seed)
        result[f"{name}, rows set aside"] = flagged(detector, B, y_test)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--datasets", nargs="+", default=None, help="names (default: every set)")
    parser.add_argument("--min-normal", type=int, default=1500, help="normal rows a data set needs")
    parser.add_argument("--sizes", nargs="+", type=int, default=[100, 300, 1000])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")

    datasets = [load_dataset(path, 10_000) for path in find_dataset_files(args.data_dir, args.datasets)]
    datasets = [data for data in datasets if (data.y == 0).sum() >= args.min_normal]
    print(f"{len(datasets)} data sets: {', '.join(data.name for data in datasets)}\n")
    print("| training rows | " + " | ".join(COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 1) + "|")
    for n_rows in args.sizes:
        results = [measure(data.X, data.y, n_rows, seed) for data in datasets for seed in args.seeds]
        cells = [
            "{:.2f} / {:.2f}".format(*np.mean([result[column] for result in results], axis=0))
            for column in COLUMNS
        ]
        print(f"| {n_rows} | " + " | ".join(cells) + " |", flush=True)
    print("\nEach cell: the share of held-out normal rows flagged / of held-out anomalies flagged.")


if __name__ == "__main__":
    main()
