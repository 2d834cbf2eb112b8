"""Missing cells (issue #12): anomaly detection on incomplete rows, and the codes of incomplete rows.

Cells are hidden completely at random (MCAR): for each split, ``numpy.random.default_rng(seed)`` draws
the training rows' mask, then the test rows' mask; each cell is hidden with probability
``--missing-rate`` (default 0.2). A row whose every cell was drawn hidden gets one cell back, drawn
uniformly from the same generator (skvae refuses rows with nothing observed, and a row is never
re-drawn, so that the mask of the other rows does not depend on it). Every contender sees the same
masks.

Part A, detection (the anomaly protocol of ``bench_anomaly.py``, whose data loading and splits this
script imports): data sets over ``--max-rows`` rows (default 10,000) are stratified-subsampled (seed 0);
for each seed a stratified 70/30 split; each detector is fitted on the training part without labels
and scores the test part; score = minus ``score_samples``; ROC-AUC and average precision with the
anomalies as the positive class. Each detector runs on the complete split (0%) and on the same split
with cells hidden in the training and the test rows:

* IsolationForest        ``IsolationForest(random_state=seed)``, given the NaN cells directly
* Imputer+IForest        ``make_pipeline(SimpleImputer(), IsolationForest(random_state=seed))``
* skvae-AE               ``make_pipeline(StandardScaler(), AutoencoderOutlierDetector(random_state=seed))``
* skvae-VAE              the same with ``VAEOutlierDetector``

(StandardScaler leaves NaN in place and skvae reads it as missing.) Target: the better skvae detector's
mean ROC-AUC with hidden cells is >= both IsolationForest variants' and at most 0.03 below its own on
the complete data. Fit times are per fit, one CPU thread, after an untimed warm-up fit of each
detector on random rows with and without NaN.

Part B, codes of incomplete rows: the same data sets, stratified-subsampled (seed 0) to at most
``--codes-max-rows`` rows (default 1,000: the transformers train up to 200 epochs, and on the shared
development machine part B took 14 minutes at 2,000 rows and 28 at 10,000); for each seed the anomaly
protocol's 70/30 split, anomalies included, and its masks; a StandardScaler fitted on the complete
training rows scales everything. A transformer (``AutoencoderTransformer`` or ``VAETransformer``,
``n_components=8``, ``random_state=seed``, other parameters default) gives the codes Z of the complete
test rows, and codes of the same test rows with cells hidden, two ways:

* (i)  skvae   the incomplete rows given to ``transform`` directly (missing cells read at the
               training mean)
* (ii) imputer ``SimpleImputer`` (mean, fitted on the training rows) and then ``transform``

Relative squared distance = sum_rows ||Z_k - Z||^2 / sum_rows ||Z - mean(Z)||^2 (0 = the hidden cells
change nothing, 1 = as far off as the spread of the codes). Two training regimes: the model fitted on
the complete training rows (then (ii) is the same model after the imputer), and the model fitted on
training rows with cells hidden -- (i) the transformer fitted on the NaN rows, (ii)
``make_pipeline(SimpleImputer(), transformer)`` fitted on them; each is compared with its own codes of
the complete test rows. Target: (i) < (ii). With complete training rows, standardised inputs and the
training mean as the fill value, (i) and (ii) feed the encoder (almost) the same input, so the two
agree there; the regime with hidden training cells is the one that tells them apart.

Each figure is the mean over seeds; the summary is the mean over data sets. A failure or a non-finite
score or code is reported, for its data set, model and seed, and the run goes on; means only use the
data sets where nothing failed. No figure is asserted: the script prints tables.

Run with one thread (the machine is shared)::

    OMP_NUM_THREADS=1 python benchmarks/bench_missing.py --markdown        # both parts, the 12 data sets
    OMP_NUM_THREADS=1 python benchmarks/bench_missing.py --part codes --codes-max-rows 10000  # ~30 min
    OMP_NUM_THREADS=1 python benchmarks/bench_missing.py --part detection --missing-rate 0.4
    OMP_NUM_THREADS=1 python benchmarks/bench_missing.py --datasets cardio vowels --seeds 0 --max-rows 1000
"""

import argparse
import contextlib
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import bench_anomaly
import numpy as np
import torch
from sklearn.ensemble import IsolationForest
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

import skvae

# name -> factory(seed): an unfitted detector with fit(X) and score_samples(X) that accepts NaN.
DETECTORS = {
    "IsolationForest": lambda seed: IsolationForest(random_state=seed),
    "Imputer+IForest": lambda seed: make_pipeline(SimpleImputer(), IsolationForest(random_state=seed)),
    "skvae-AE": lambda seed: make_pipeline(
        StandardScaler(), skvae.AutoencoderOutlierDetector(random_state=seed)
    ),
    "skvae-VAE": lambda seed: make_pipeline(StandardScaler(), skvae.VAEOutlierDetector(random_state=seed)),
}
SKVAE_DETECTORS = ["skvae-AE", "skvae-VAE"]
BASELINES = ["IsolationForest", "Imputer+IForest"]
# The tolerance: the better skvae detector may lose this much mean ROC-AUC to hidden cells.
MAX_DROP = 0.03

# name -> factory(seed): the transformers of part B.
TRANSFORMERS = {
    "AE": lambda seed: skvae.AutoencoderTransformer(n_components=8, random_state=seed),
    "VAE": lambda seed: skvae.VAETransformer(n_components=8, random_state=seed),
}
REGIMES = ["complete", "hidden"]  # training rows of part B: complete, or with cells hidden
WAYS = ["skvae", "imputer"]  # (i) and (ii)


# -- masks ----------------------------------------------------------------------


def hide_cells(X, rate, rng):
    """A copy of X with each cell NaN with probability ``rate``; each row keeps at least one cell.

    Rows drawn entirely hidden get one uniformly drawn cell back rather than a new draw, so that the
    generator's stream, and hence every other row's mask, does not depend on them.
    """
    hidden = rng.random(X.shape) < rate
    empty = np.flatnonzero(hidden.all(axis=1))
    keep = rng.integers(X.shape[1], size=X.shape[0])  # drawn for every row: a fixed stream length
    hidden[empty, keep[empty]] = False
    X = X.astype(np.float64, copy=True)
    X[hidden] = np.nan
    return X, len(empty)


@dataclass
class Split:
    X_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    X_train_hidden: np.ndarray
    X_test_hidden: np.ndarray
    n_restored: int  # rows drawn entirely hidden, which got one cell back


def make_split(dataset, seed, rate):
    """The anomaly protocol's split for ``seed``, and the same rows with cells hidden."""
    X_train, X_test, _, y_test = train_test_split(
        dataset.X, dataset.y, test_size=bench_anomaly.TEST_SIZE, stratify=dataset.y, random_state=seed
    )
    rng = np.random.default_rng(seed)
    X_train_hidden, restored_train = hide_cells(X_train, rate, rng)
    X_test_hidden, restored_test = hide_cells(X_test, rate, rng)
    return Split(X_train, X_test, y_test, X_train_hidden, X_test_hidden, restored_train + restored_test)


def _caught(caught):
    return sorted({f"{w.category.__name__}: {w.message}" for w in caught})


@contextlib.contextmanager
def recording_warnings(messages):
    """Record warnings into ``messages`` (ConvergenceWarning left out: few epochs are skvae's defaults)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield
    messages.extend(_caught(caught))


# -- part A: detection ------------------------------------------------------------


@dataclass
class DetectionRun:
    dataset: str
    detector: str
    seed: int
    rate: float
    roc_auc: float | None = None
    average_precision: float | None = None
    fit_seconds: float | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)


def run_detector(name, seed, dataset_name, rate, X_train, X_test, y_test):
    """Fit one detector and score the test rows; failures and non-finite scores are recorded, not raised."""
    run = DetectionRun(dataset_name, name, seed, rate)
    with recording_warnings(run.warnings):
        try:
            detector = DETECTORS[name](seed)
            start = time.perf_counter()
            detector.fit(X_train)
            run.fit_seconds = time.perf_counter() - start
            abnormality = -np.asarray(detector.score_samples(X_test), dtype=np.float64)
            n_bad = int(np.sum(~np.isfinite(abnormality)))
            if n_bad:
                raise ValueError(f"{n_bad} of {len(abnormality)} test scores are not finite")
            run.roc_auc = float(roc_auc_score(y_test, abnormality))
            run.average_precision = float(average_precision_score(y_test, abnormality))
        except Exception as exc:
            run.error = f"{type(exc).__name__}: {exc}"
    return run


def warm_up():
    """Fit every model once, untimed, on random rows with and without NaN.

    The first torch fit of a process pays one-off costs, and the first fit on NaN data takes the
    masked code path for the first time; neither should be charged to whichever run comes first.
    """
    X = np.random.RandomState(0).standard_normal((256, 4))
    X_hidden, _ = hide_cells(X, 0.2, np.random.default_rng(0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for factory in [*DETECTORS.values(), *TRANSFORMERS.values()]:
            for data in (X, X_hidden):
                with contextlib.suppress(Exception):  # real failures are reported by the runs
                    factory(0).fit(data)


def run_detection(datasets, seeds, rate, log, restored):
    runs = []
    for dataset in datasets:
        for seed in seeds:
            split = make_split(dataset, seed, rate)
            restored[f"A {dataset.name}"] = restored.get(f"A {dataset.name}", 0) + split.n_restored
            for run_rate, X_train, X_test in [
                (0.0, split.X_train, split.X_test),
                (rate, split.X_train_hidden, split.X_test_hidden),
            ]:
                for name in DETECTORS:
                    run = run_detector(name, seed, dataset.name, run_rate, X_train, X_test, split.y_test)
                    runs.append(run)
                    outcome = run.error or f"ROC-AUC {run.roc_auc:.3f}  AP {run.average_precision:.3f}"
                    fit = "" if run.fit_seconds is None else f"  fit {run.fit_seconds:.2f} s"
                    log(f"{dataset.name:<12} seed {seed}  {run_rate:>4.0%}  {name:<16} {outcome}{fit}")
    return runs


def summarise_detection(datasets, runs, rate):
    """Per (data set, detector, rate): mean over seeds; per (detector, rate): mean over data sets."""
    cells = {}
    for dataset in datasets:
        for name in DETECTORS:
            for run_rate in (0.0, rate):
                mine = [r for r in runs if (r.dataset, r.detector, r.rate) == (dataset.name, name, run_rate)]
                ok = [r for r in mine if r.error is None]
                cells[dataset.name, name, run_rate] = {
                    "roc_auc": _mean([r.roc_auc for r in ok]),
                    "average_precision": _mean([r.average_precision for r in ok]),
                    "n_failed": len(mine) - len(ok),
                }
    # Means over the data sets where every detector succeeded on every seed, at both rates.
    complete = [
        d.name
        for d in datasets
        if all(cells[d.name, name, r]["n_failed"] == 0 for name in DETECTORS for r in (0.0, rate))
    ]
    overall = {}
    for name in DETECTORS:
        overall[name] = {}
        for run_rate in (0.0, rate):
            mine = [r for r in runs if r.detector == name and r.rate == run_rate]
            overall[name][run_rate] = {
                "roc_auc": _mean([cells[d, name, run_rate]["roc_auc"] for d in complete]),
                "average_precision": _mean([cells[d, name, run_rate]["average_precision"] for d in complete]),
                "fit_seconds": _mean([r.fit_seconds for r in mine if r.fit_seconds is not None]),
                "n_failed": sum(r.error is not None for r in mine),
                "n_runs": len(mine),
            }
    return cells, complete, overall


def print_detection(datasets, seeds, rate, runs, table, heading):
    cells, complete, overall = summarise_detection(datasets, runs, rate)
    pct = f"{rate:.0%}"
    print(heading(f"A. Detection: summary over {len(complete)} of {len(datasets)} data sets (no failures)"))
    headers = [
        "detector",
        "ROC-AUC 0%",
        f"ROC-AUC {pct}",
        "drop",
        "AP 0%",
        f"AP {pct}",
        "fit s 0%",
        f"fit s {pct}",
        "failed runs",
    ]
    rows = []
    for name in DETECTORS:
        full, hidden = overall[name][0.0], overall[name][rate]
        drop = None if None in (full["roc_auc"], hidden["roc_auc"]) else full["roc_auc"] - hidden["roc_auc"]
        rows.append(
            [
                name,
                _number(full["roc_auc"], ".3f"),
                _number(hidden["roc_auc"], ".3f"),
                _number(drop, "+.3f"),
                _number(full["average_precision"], ".3f"),
                _number(hidden["average_precision"], ".3f"),
                _number(full["fit_seconds"], ".2f"),
                _number(hidden["fit_seconds"], ".2f"),
                f"{full['n_failed'] + hidden['n_failed']}/{full['n_runs'] + hidden['n_runs']}",
            ]
        )
    print(table(headers, rows))

    seed_text = ", ".join(map(str, seeds))
    for run_rate in (rate, 0.0):
        print(
            heading(
                f"A. ROC-AUC per data set with {run_rate:.0%} of cells hidden, mean over seeds {seed_text}"
            )
        )
        headers = ["data set", "rows", "features", "anomalies %", *DETECTORS]
        rows = [
            [d.name, len(d.y), d.X.shape[1], f"{d.anomaly_percent:.2f}"]
            + [_cell(cells[d.name, name, run_rate]) for name in DETECTORS]
            for d in datasets
        ]
        print(table(headers, rows))

    print(heading("A. Target"))
    best = max(SKVAE_DETECTORS, key=lambda name: _or_minus_inf(overall[name][rate]["roc_auc"]))
    best_hidden, best_full = overall[best][rate]["roc_auc"], overall[best][0.0]["roc_auc"]
    if best_hidden is None or best_full is None:
        print("- not assessable: no data set without failures")
        return
    checks = [
        (
            f"{name} at {pct} ({overall[name][rate]['roc_auc']:.3f})",
            best_hidden >= overall[name][rate]["roc_auc"],
        )
        for name in BASELINES
    ]
    checks.append(
        (
            f"its own 0% score minus {MAX_DROP} ({best_full:.3f} - {MAX_DROP})",
            best_full - best_hidden <= MAX_DROP,
        )
    )
    print(f"- best skvae detector at {pct}: {best}, mean ROC-AUC {best_hidden:.3f}")
    for what, met in checks:
        print(f"- >= {what}: {'met' if met else 'NOT met'}")


# -- part B: codes of incomplete rows -------------------------------------------------


@dataclass
class CodesRun:
    dataset: str
    model: str
    regime: str
    seed: int
    distance: dict = field(default_factory=dict)  # way -> relative squared distance
    fit_seconds: float | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)


def relative_squared_distance(Z_k, Z):
    """sum ||Z_k - Z||^2 / sum ||Z - mean(Z)||^2 over the rows."""
    for codes in (Z, Z_k):
        if not np.isfinite(codes).all():
            raise ValueError(f"{int(np.sum(~np.isfinite(codes)))} code entries are not finite")
    return float(np.sum((Z_k - Z) ** 2) / np.sum((Z - Z.mean(axis=0)) ** 2))


def run_codes(model, regime, seed, dataset_name, split):
    """Codes of the complete and the incomplete test rows, both ways, for one model and training regime."""
    run = CodesRun(dataset_name, model, regime, seed)
    # One scale for everything: the complete training rows'.
    scaler = StandardScaler().fit(split.X_train)
    X_train = scaler.transform(split.X_train if regime == "complete" else split.X_train_hidden)
    X_test, X_test_hidden = scaler.transform(split.X_test), scaler.transform(split.X_test_hidden)
    with recording_warnings(run.warnings):
        try:
            start = time.perf_counter()
            native = TRANSFORMERS[model](seed).fit(X_train)
            run.fit_seconds = time.perf_counter() - start
            Z = native.transform(X_test)
            run.distance["skvae"] = relative_squared_distance(native.transform(X_test_hidden), Z)
            if regime == "complete":
                # The imputer learns nothing from complete rows but their means: the same model follows it.
                imputed = native
                imputer = SimpleImputer().fit(X_train)
                Z_imputed = native.transform(imputer.transform(X_test_hidden))
            else:
                imputed = make_pipeline(SimpleImputer(), TRANSFORMERS[model](seed)).fit(X_train)
                Z_imputed = imputed.transform(X_test_hidden)
            run.distance["imputer"] = relative_squared_distance(Z_imputed, imputed.transform(X_test))
        except Exception as exc:
            run.error = f"{type(exc).__name__}: {exc}"
    return run


def run_codes_part(datasets, seeds, rate, log, restored):
    runs = []
    for dataset in datasets:
        for seed in seeds:
            split = make_split(dataset, seed, rate)
            restored[f"B {dataset.name}"] = restored.get(f"B {dataset.name}", 0) + split.n_restored
            for model in TRANSFORMERS:
                for regime in REGIMES:
                    run = run_codes(model, regime, seed, dataset.name, split)
                    runs.append(run)
                    outcome = run.error or "  ".join(f"{way} {d:.4f}" for way, d in run.distance.items())
                    log(f"{dataset.name:<12} seed {seed}  {model:<4} train {regime:<9} {outcome}")
    return runs


def print_codes(datasets, seeds, rate, runs, table, heading):
    columns = [(model, regime, way) for model in TRANSFORMERS for regime in REGIMES for way in WAYS]
    cells = {}
    for d in datasets:
        for model, regime, way in columns:
            mine = [r for r in runs if (r.dataset, r.model, r.regime) == (d.name, model, regime)]
            ok = [r for r in mine if r.error is None]
            cells[d.name, model, regime, way] = {
                "value": _mean([r.distance[way] for r in ok]),
                "n_failed": len(mine) - len(ok),
            }
    complete = [d.name for d in datasets if all(cells[(d.name, *c)]["n_failed"] == 0 for c in columns)]
    pct = f"{rate:.0%}"
    headers = ["model", "training rows", "(i) skvae", "(ii) imputer", "(i) < (ii) on", "fit s (i)"]
    rows, targets = [], []
    for model in TRANSFORMERS:
        for regime in REGIMES:
            native = [cells[d, model, regime, "skvae"]["value"] for d in complete]
            imputed = [cells[d, model, regime, "imputer"]["value"] for d in complete]
            fits = [r.fit_seconds for r in runs if (r.model, r.regime) == (model, regime) and r.fit_seconds]
            pairs = list(zip(native, imputed, strict=True))
            ties = sum(_tied(a, b) for a, b in pairs)
            wins = sum(a < b and not _tied(a, b) for a, b in pairs)
            training = "complete" if regime == "complete" else f"{pct} hidden"
            rows.append(
                [
                    model,
                    training,
                    _number(_mean(native), ".4f"),
                    _number(_mean(imputed), ".4f"),
                    f"{wins}/{len(complete)} sets" + (f" ({ties} tied)" if ties else ""),
                    _number(_mean(fits), ".2f"),
                ]
            )
            if complete:
                a, b = _mean(native), _mean(imputed)
                verdict = "tied" if _tied(a, b) else "met" if a < b else "NOT met"
                targets.append(f"- {model}, training rows {training}: (i) {a:.4f} < (ii) {b:.4f}: {verdict}")
    print(
        heading(
            f"B. Codes of test rows with {pct} of cells hidden: relative squared distance to the complete "
            f"rows' codes, mean over {len(complete)} of {len(datasets)} data sets (no failures)"
        )
    )
    print(table(headers, rows))
    print(heading("B. Target"))
    print("\n".join(targets) if targets else "- not assessable: no data set without failures")

    seed_text = ", ".join(map(str, seeds))
    print(heading(f"B. Relative squared distance per data set, mean over seeds {seed_text}"))
    short = {"complete": "full", "hidden": "hid"}
    headers = ["data set", *(f"{m} {short[r]} ({'i' if w == 'skvae' else 'ii'})" for m, r, w in columns)]
    rows = [[d.name] + [_cell(cells[(d.name, *c)], "value", ".4f") for c in columns] for d in datasets]
    print(table(headers, rows))
    print(f"(full = fitted on the complete training rows, hid = on training rows with {pct} of cells hidden)")


# -- shared -------------------------------------------------------------------------


def _mean(values):
    return float(np.mean(values)) if values else None


def _number(value, spec):
    return "-" if value is None else format(value, spec)


def _tied(a, b):
    """Equal up to float32 rounding: with complete training rows both ways can feed the encoder alike."""
    return abs(a - b) <= 1e-5 * max(abs(a), abs(b))


def _or_minus_inf(value):
    return -np.inf if value is None else value


def _cell(cell, metric="roc_auc", spec=".3f"):
    value = cell[metric]
    if value is None:
        return "fail"
    return format(value, spec) + ("*" if cell["n_failed"] else "")


def print_notes(parts, detection_runs, codes_runs, restored, heading):
    notes = []
    for part, datasets in parts.items():
        subsampled = [d for d in datasets if len(d.y) < d.n_rows]
        if subsampled:
            notes.append(
                f"part {part}, stratified subsample (seed 0): "
                + ", ".join(f"{d.name} {d.n_rows} -> {len(d.y)} rows" for d in subsampled)
            )
    notes.append(
        f"rows drawn with every cell hidden (one cell given back): {sum(restored.values())}"
        + (
            " (" + ", ".join(f"{k} {v}" for k, v in restored.items() if v) + ")"
            if any(restored.values())
            else ""
        )
    )
    for run in detection_runs:
        if run.error:
            notes.append(
                f"FAILED A {run.dataset}, seed {run.seed}, {run.rate:.0%}, {run.detector}: {run.error}"
            )
    for run in codes_runs:
        if run.error:
            notes.append(f"FAILED B {run.dataset}, seed {run.seed}, {run.model} {run.regime}: {run.error}")
    if any(run.error for run in [*detection_runs, *codes_runs]):
        notes.append("'*' = mean over the seeds that did not fail; 'fail' = every seed failed")
    warned = {}
    for run in detection_runs:
        for message in run.warnings:
            warned.setdefault((f"{run.detector} at {run.rate:.0%}", message), []).append(
                f"{run.dataset}/{run.seed}"
            )
    for run in codes_runs:
        for message in run.warnings:
            warned.setdefault((f"{run.model} {run.regime}", message), []).append(f"{run.dataset}/{run.seed}")
    for (who, message), where in warned.items():
        runs_text = ", ".join(where[:4]) + (", ..." if len(where) > 4 else "")
        notes.append(f"warning from {who} ({len(where)} runs: {runs_text}): {message}")
    print(heading("Notes"))
    print("\n".join(f"- {note}" for note in notes))


# -- command line -------------------------------------------------------------------


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=(
            "Missing cells (MCAR) on ADBench data: detection by IsolationForest and skvae with hidden "
            "cells (part A), and how far hidden cells move the codes of skvae's transformers (part B)."
        ),
        epilog="Run with OMP_NUM_THREADS=1; the script also limits torch and BLAS to one thread.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        default=bench_anomaly.DEFAULT_DATA_DIR,
        help="folder of ADBench .npz files (keys X, y)",
    )
    parser.add_argument(
        "--datasets",
        nargs="+",
        metavar="NAME",
        default=["reference"],
        help="data sets by name, without the number prefix of the file (e.g. cardio musk), or 'reference' "
        f"for {', '.join(bench_anomaly.REFERENCE_DATASETS)}",
    )
    parser.add_argument(
        "--seeds",
        nargs="+",
        type=int,
        metavar="SEED",
        default=[0, 1, 2],
        help="seeds of the splits and masks",
    )
    parser.add_argument(
        "--missing-rate", type=float, default=0.2, help="probability that a cell is hidden (MCAR)"
    )
    parser.add_argument(
        "--part",
        choices=["detection", "codes", "both"],
        default="both",
        help="A (detection), B (codes) or both",
    )
    parser.add_argument(
        "--max-rows",
        type=int,
        default=10_000,
        help="stratified-subsample larger data sets to this many rows (lower it for a quick smoke run)",
    )
    parser.add_argument(
        "--codes-max-rows",
        type=int,
        default=1_000,
        help="the same, for part B: its transformers train up to 200 epochs, so that part B takes about "
        "half an hour at 10,000 rows",
    )
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables instead of text")
    parser.add_argument("--quiet", action="store_true", help="no per-run progress lines on stderr")
    args = parser.parse_args(argv)
    if not 0 < args.missing_rate < 1:
        parser.error("--missing-rate must be in (0, 1)")
    if min(args.max_rows, args.codes_max_rows) < 10:
        parser.error("--max-rows and --codes-max-rows must be at least 10")
    return args


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(1)
    names = bench_anomaly.REFERENCE_DATASETS if args.datasets == ["reference"] else args.datasets
    files = bench_anomaly.find_dataset_files(args.data_dir, names)
    if not files:
        raise SystemExit(f"No .npz files in {args.data_dir}.")

    def log(message):
        if not args.quiet:
            print(message, file=sys.stderr, flush=True)

    def table(headers, rows):
        return bench_anomaly.format_table(headers, rows, args.markdown)

    def heading(text):
        return f"\n### {text}\n" if args.markdown else f"\n{text}\n{'=' * len(text)}"

    start = time.perf_counter()
    detection_runs, codes_runs, parts, restored = [], [], {}, {}
    with threadpool_limits(limits=1):
        warm_up()
        if args.part in ("detection", "both"):
            parts["A"] = [bench_anomaly.load_dataset(path, args.max_rows) for path in files]
            detection_runs = run_detection(parts["A"], args.seeds, args.missing_rate, log, restored)
        if args.part in ("codes", "both"):
            parts["B"] = [bench_anomaly.load_dataset(path, args.codes_max_rows) for path in files]
            codes_runs = run_codes_part(parts["B"], args.seeds, args.missing_rate, log, restored)
    wall_seconds = time.perf_counter() - start

    print(
        f"Missing cells: {args.missing_rate:.0%} of the cells of training and test rows hidden (MCAR), "
        f"seeds {', '.join(map(str, args.seeds))}"
    )
    if detection_runs:
        print_detection(parts["A"], args.seeds, args.missing_rate, detection_runs, table, heading)
    if codes_runs:
        print_codes(parts["B"], args.seeds, args.missing_rate, codes_runs, table, heading)
    print_notes(parts, detection_runs, codes_runs, restored, heading)
    versions = bench_anomaly.versions()
    versions.pop("pyod")
    print(f"\nTotal time {wall_seconds / 60:.1f} min; " + ", ".join(f"{k} {v}" for k, v in versions.items()))


if __name__ == "__main__":
    main()
