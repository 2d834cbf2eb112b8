"""Do the explanations name the right features? ``feature_contributions`` against known broken cells.

Each explained row has k cells replaced by the values of another normal row (a contextual anomaly: each
value is typical on its own, but no longer fits its row). An explanation ranks the row's features, most
abnormal first; precision@k is the share of the k top-ranked features that are the broken ones (chance:
k / n_features). Peers in the same run:

  |z-score|           the largest |x_j - mean_j| / std_j, from the training rows
  PCA error           per-feature squared reconstruction error of PCA (n_components as the first detector's)
  SHAP IsolationForest shap.TreeExplainer on IsolationForest: the most negative SHAP values of the
                       forest's output (shorter paths, lower output: more abnormal)

Two experiments:

(a) ``sensors``: the gallery's generator ("Anomaly detection and its explanation"): n sensors on a curved
    2-factor surface, 1,000 rows, 50 of them with k sensors replaced by another row's values. Detectors
    are fitted on all rows (broken ones included) with ``n_components=4`` in
    ``make_pipeline(StandardScaler(), ...)``, and explain the 50 broken rows. Settings: 12 sensors with
    k = 1, 3, 5; 24 and 48 sensors with k = 3. Seeds 0, 1, 2.

(b) ``adbench``: every ADBench set in ``--data-dir`` with at least 10 features. Only the normal rows
    (y = 0) are used, subsampled to ``--max-rows`` (default 5,000; seed 0), split 70/30 into training
    and held-out rows. Up to ``--n-explain`` held-out rows (default 300) get k = 1, 2 or 3 cells
    replaced by those of another held-out row, at features where the two rows differ by at least half
    a (training) standard deviation, and differ at all (a column constant in the training rows).
    Detectors (default parameters, after a StandardScaler) are fitted on the training rows ("clean")
    and on the training rows with 5% of them corrupted in place (k drawn from 1, 2, 3;
    "contaminated"). PCA gets as many components as the first detector named (its "auto" as
    resolved on the clean rows), or ``--n-components``. The data sets are split into a "choose"
    half, on which the method settings were chosen, and a "confirm" half, never looked at while
    choosing (``CHOOSE`` below); the tables report both.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_explanations.py sensors
    OMP_NUM_THREADS=1 python benchmarks/bench_explanations.py adbench [--datasets cardio letter]
    OMP_NUM_THREADS=1 python benchmarks/bench_explanations.py sensors --methods robust reconstruction

This script is no test: it prints markdown tables and asserts nothing.
"""

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

import skvae

try:
    import shap
except ImportError:  # a benchmark-only dependency (the "bench" extra)
    shap = None

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared/data/adbench"
# Method settings were chosen on these data sets only; the others confirm. The split alternates
# along ADBench's numbering of the 18 sets with at least 10 features (1st, 3rd, ... choose).
CHOOSE = ["ALOI", "cardio", "cover", "Hepatitis", "Ionosphere", "Lymphography", "musk", "satimage-2", "WDBC"]
SUBSAMPLE_SEED = 0
DETECTORS = {"AE": skvae.AutoencoderOutlierDetector, "VAE": skvae.VAEOutlierDetector}


# -- data -------------------------------------------------------------------------


def make_sensors(n_sensors=12, n_broken=3, seed=0, n_rows=1000, n_broken_rows=50):
    """The gallery's sensors: rows X, the broken rows and, for each, its broken sensors."""
    rng = np.random.RandomState(seed)
    t = rng.uniform(-np.pi, np.pi, size=n_rows)
    s = rng.normal(size=n_rows)
    frequency, phase = rng.uniform(0.5, 2, n_sensors), rng.uniform(0, 2 * np.pi, n_sensors)
    weight = rng.normal(size=n_sensors)
    X = np.sin(np.outer(t, frequency) + phase) + 0.5 * np.outer(s, weight)
    X += 0.05 * rng.normal(size=X.shape)
    rows = rng.choice(n_rows, n_broken_rows, replace=False)
    broken = np.zeros((n_broken_rows, n_sensors), dtype=bool)
    for i, row in enumerate(rows):
        sensors = rng.choice(n_sensors, n_broken, replace=False)
        X[row, sensors] = X[rng.randint(n_rows), sensors]
        broken[i, sensors] = True
    return X, rows, broken


def corrupt(X, k, std, rng, donors=None):
    """Copies of the rows of X with k cells each taken from another row (of ``donors``, default X).

    Only features where the donor differs by at least half a standard deviation are taken; rows
    with fewer than k such features (for 20 donors tried) are dropped. Returns (rows, kept, mask).
    """
    donors = X if donors is None else donors
    out, kept, masks = [], [], []
    for i, row in enumerate(X):
        for _ in range(20):
            donor = donors[rng.randint(len(donors))]
            # A cell that changes, by at least half a standard deviation (a column constant in the
            # training rows has a standard deviation of 0: its cell must still change).
            candidates = np.flatnonzero((np.abs(donor - row) >= 0.5 * std) & (donor != row))
            if len(candidates) >= k:
                break
        else:
            continue
        features = rng.choice(candidates, k, replace=False)
        new = row.copy()
        new[features] = donor[features]
        mask = np.zeros(len(row), dtype=bool)
        mask[features] = True
        out.append(new)
        kept.append(i)
        masks.append(mask)
    return np.array(out), np.array(kept), np.array(masks)


def load_adbench(path, max_rows):
    data = np.load(path)
    X = data["X"][data["y"] == 0].astype(np.float64)
    if len(X) > max_rows:
        X = X[np.random.RandomState(SUBSAMPLE_SEED).choice(len(X), max_rows, replace=False)]
    # Constant columns carry nothing to explain (and no standard deviation).
    return X[:, X.std(axis=0) > 0]


# -- explanations: (n_rows, n_features), most negative = most abnormal -------------


def precision_at_k(contributions, broken):
    k = broken.sum(axis=1)
    order = np.argsort(contributions, axis=1, kind="stable")
    hits = [broken[i, order[i, : k[i]]].sum() / k[i] for i in range(len(broken))]
    return float(np.mean(hits))


def explain_zscore(X_train, X_explain, n_components, seed):
    scaler = StandardScaler().fit(X_train)
    return -np.abs(scaler.transform(X_explain))


def explain_pca(X_train, X_explain, n_components, seed):
    scaler = StandardScaler().fit(X_train)
    pca = PCA(n_components=min(n_components, X_train.shape[1])).fit(scaler.transform(X_train))
    Z = scaler.transform(X_explain)
    return -np.square(Z - pca.inverse_transform(pca.transform(Z)))


def explain_shap(X_train, X_explain, n_components, seed):
    forest = IsolationForest(random_state=seed).fit(X_train)
    return shap.TreeExplainer(forest).shap_values(X_explain)


PEERS = {"|z-score|": explain_zscore, "PCA error": explain_pca, "SHAP IsolationForest": explain_shap}


MAX_ITER = {}  # detector -> max_iter, from --max-iter (default: the detector's)


def fit_detector(name, X_train, n_components, seed):
    params = {} if n_components is None else {"n_components": n_components}
    if name in MAX_ITER:
        params["max_iter"] = MAX_ITER[name]
    detector = make_pipeline(StandardScaler(), DETECTORS[name](random_state=seed, **params))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return detector.fit(X_train)


def explain_detector(detector, X_explain, method):
    return detector[-1].feature_contributions(detector[:-1].transform(X_explain), method=method)


# -- experiments -----------------------------------------------------------------


def run_sensors(args, results):
    settings = [(12, 1), (12, 3), (12, 5), (24, 3), (48, 3)]
    for n_sensors, k in settings:
        for seed in args.seeds:
            X, rows, broken = make_sensors(n_sensors, k, seed)
            setting = f"{n_sensors} sensors, {k} broken"
            for peer in args.peers:
                tic = time.perf_counter()
                contributions = PEERS[peer](X, X[rows], 4, seed)
                record(
                    results,
                    setting,
                    peer,
                    "",
                    precision_at_k(contributions, broken),
                    time.perf_counter() - tic,
                )
            for name in args.detectors:
                detector = fit_detector(name, X, 4, seed)
                for method in args.methods:
                    tic = time.perf_counter()
                    contributions = explain_detector(detector, X[rows], method)
                    seconds = time.perf_counter() - tic
                    record(results, setting, name, method, precision_at_k(contributions, broken), seconds)


def run_adbench(args, results):
    paths = sorted(args.data_dir.glob("*.npz"), key=lambda p: int(p.name.split("_")[0]))
    for path in paths:
        dataset = path.stem.split("_", 1)[1]
        if args.datasets and dataset not in args.datasets:
            continue
        X = load_adbench(path, args.max_rows)
        if X.shape[1] < 10:
            continue
        group = "choose" if dataset in CHOOSE else "confirm"
        for seed in args.seeds:
            rng = np.random.RandomState(seed)
            X_train, X_test = train_test_split(X, test_size=0.3, random_state=seed)
            X_test = X_test[: args.n_explain]
            std = X_train.std(axis=0)
            # Contaminated training rows: 5% of the rows, each with 1 to 3 cells from another row
            # in place of its own (no clean twin left beside it).
            X_dirty = X_train.copy()
            for i in range(int(round(0.05 * len(X_train)))):
                bad = corrupt(X_train[i : i + 1], rng.randint(1, 4), std, rng, X_train)[0]
                if len(bad):
                    X_dirty[i] = bad[0]
            cases = {k: corrupt(X_test, k, std, rng) for k in (1, 2, 3)}
            tic = time.perf_counter()
            clean = {name: fit_detector(name, X_train, args.n_components, seed) for name in args.detectors}
            # PCA gets as many components as the first detector ("auto" as it resolved).
            n_components = args.n_components or (clean[args.detectors[0]][-1].n_components_ if clean else 8)
            for peer in args.peers:
                for k, (rows, _, broken) in cases.items():
                    contributions = PEERS[peer](X_train, rows, n_components, seed)
                    record(
                        results, (group, dataset, k, "clean"), peer, "", precision_at_k(contributions, broken)
                    )
            for training, X_fit in (("clean", X_train), ("contaminated", X_dirty)):
                for name in args.detectors:
                    if training == "clean":
                        detector = clean[name]
                    else:
                        detector = fit_detector(name, X_fit, args.n_components, seed)
                    for method in args.methods:
                        for k, (rows, _, broken) in cases.items():
                            t0 = time.perf_counter()
                            contributions = explain_detector(detector, rows, method)
                            seconds = time.perf_counter() - t0
                            p = precision_at_k(contributions, broken)
                            record(results, (group, dataset, k, training), name, method, p, seconds)
            print(
                f"<!-- {dataset}: {X.shape[0]} rows x {X.shape[1]} features, seed {seed}, "
                f"{time.perf_counter() - tic:.0f}s -->",
                flush=True,
            )


def record(results, setting, who, method, precision, seconds=np.nan):
    label = who if not method else f"{who} {method}"
    results.setdefault(setting, {}).setdefault(label, []).append((precision, seconds))


# -- tables ------------------------------------------------------------------------


def print_sensors(results):
    labels = list(dict.fromkeys(label for per in results.values() for label in per))
    print("| explanation | " + " | ".join(results) + " | seconds per 50 rows |")
    print("|---" * (len(results) + 2) + "|")
    for label in labels:
        cells = [f"{np.mean([p for p, _ in results[s][label]]):.2f}" for s in results]
        seconds = np.nanmedian([t for s in results for _, t in results[s][label]])
        print(f"| {label} | " + " | ".join(cells) + f" | {seconds:.3f} |")


def print_adbench(results):
    labels = list(dict.fromkeys(label for per in results.values() for label in per))
    for group in ("choose", "confirm"):
        datasets = sorted({s[1] for s in results if s[0] == group})
        if not datasets:
            continue
        print(f"\n**{group} data sets** ({len(datasets)}): {', '.join(datasets)}\n")
        columns = [(k, training) for training in ("clean", "contaminated") for k in (1, 2, 3)]
        print("| explanation | " + " | ".join(f"k={k} {t}" for k, t in columns) + " |")
        print("|---" * (len(columns) + 1) + "|")
        for label in labels:
            cells = []
            for k, training in columns:
                values = [
                    np.mean([p for p, _ in results[s][label]])
                    for s in results
                    if s[0] == group and s[2] == k and s[3] == training and label in results[s]
                ]
                cells.append(f"{np.mean(values):.2f}" if len(values) == len(datasets) else "")
            if any(cells):
                print(f"| {label} | " + " | ".join(cells) + " |")
    print("\nPer data set (k = 1, 2, 3 averaged; clean training rows):\n")
    datasets = sorted({(s[0], s[1]) for s in results})
    print("| data set | group | " + " | ".join(labels) + " |")
    print("|---" * (len(labels) + 2) + "|")
    for group, dataset in datasets:
        cells = []
        for label in labels:
            values = [
                np.mean([p for p, _ in results[s][label]])
                for s in results
                if s[:2] == (group, dataset) and s[3] == "clean" and label in results[s]
            ]
            cells.append(f"{np.mean(values):.2f}" if values else "")
        print(f"| {dataset} | {group} | " + " | ".join(cells) + " |")


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("experiment", choices=["sensors", "adbench"])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--datasets", nargs="*", default=None, help="ADBench names, e.g. cardio letter")
    parser.add_argument("--group", choices=["choose", "confirm"], default=None)
    parser.add_argument("--seeds", type=int, nargs="*", default=None)
    parser.add_argument("--max-rows", type=int, default=5000)
    parser.add_argument("--n-explain", type=int, default=300)
    parser.add_argument("--n-components", type=int, default=None, help="detectors' (default: theirs)")
    parser.add_argument(
        "--max-iter", nargs="*", default=[], metavar="DETECTOR=EPOCHS", help="e.g. AE=50 VAE=100"
    )
    parser.add_argument("--detectors", nargs="*", default=list(DETECTORS), choices=list(DETECTORS))
    parser.add_argument("--methods", nargs="*", default=["robust", "reconstruction"])
    parser.add_argument("--peers", nargs="*", default=list(PEERS), choices=list(PEERS))
    args = parser.parse_args()
    if shap is None and "SHAP IsolationForest" in args.peers:
        print("<!-- shap is not importable: SHAP IsolationForest left out -->")
        args.peers.remove("SHAP IsolationForest")
    if args.seeds is None:
        args.seeds = [0, 1, 2] if args.experiment == "sensors" else [0]
    if args.group is not None:
        args.datasets = (args.datasets or []) + [
            path.stem.split("_", 1)[1]
            for path in args.data_dir.glob("*.npz")
            if (path.stem.split("_", 1)[1] in CHOOSE) == (args.group == "choose")
        ]
    for item in args.max_iter:
        name, epochs = item.split("=")
        MAX_ITER[name] = int(epochs)
    if MAX_ITER:
        print(f"<!-- max_iter: {MAX_ITER} -->")
    torch.set_num_threads(1)
    results = {}
    with threadpool_limits(1):
        if args.experiment == "sensors":
            run_sensors(args, results)
            print_sensors(results)
        else:
            run_adbench(args, results)
            print_adbench(results)


if __name__ == "__main__":
    main()
