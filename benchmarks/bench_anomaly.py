"""Unsupervised anomaly detection on ADBench tabular data: skvae next to classical and PyOD detectors.

Protocol (fixed, so that numbers from different runs are comparable):

* Data sets with more than ``--max-rows`` rows (default 10,000) are stratified-subsampled to that many
  rows (seed 0).
* For each seed (default 0, 1, 2): a stratified 70/30 split. Every detector is fitted on the training
  part without its labels -- anomalies included -- and scores the test part.
* Score = minus ``score_samples`` (scikit-learn's sign: higher = more normal), so that higher = more
  abnormal; ROC-AUC and average precision take the anomalies (y = 1) as the positive class.
* Reported per data set: the mean over seeds. Then, per detector: the mean across data sets, the mean
  rank of ROC-AUC (1 = best) and the fit time per fit (one CPU thread; every detector is fitted once on
  random data before the timed runs, so that torch's one-off start-up cost is charged to none of them).

Preprocessing: IsolationForest and LOF see the raw features, as in ADBench. PCA and the skvae models
are preceded by a StandardScaler. PyOD's AutoEncoder and VAE get the raw features too: with their
default ``preprocessing=True`` they standardise internally (training mean and standard deviation).

A failure or a non-finite score is reported in the output, for its data set, detector and seed, and the
run goes on. Means across data sets and ranks only use the data sets where every detector succeeded on
every seed.

Run with one thread (the machine is shared)::

    OMP_NUM_THREADS=1 python benchmarks/bench_anomaly.py                     # every data set in --data-dir
    OMP_NUM_THREADS=1 python benchmarks/bench_anomaly.py --datasets reference  # the 12 of the data README
    OMP_NUM_THREADS=1 python benchmarks/bench_anomaly.py --datasets cardio vowels --seeds 0 --max-rows 1000
    OMP_NUM_THREADS=1 python benchmarks/bench_anomaly.py --markdown --json anomaly.json
"""

import argparse
import contextlib
import json
import platform
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import sklearn
import torch
from scipy.stats import rankdata
from sklearn.base import BaseEstimator
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import LocalOutlierFactor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

import skvae

try:
    import pyod
    from pyod.models.auto_encoder import AutoEncoder as PyODAutoEncoder
    from pyod.models.vae import VAE as PyODVAE
except ImportError as exc:
    pyod = None
    PYOD_IMPORT_ERROR = f"{type(exc).__name__}: {exc}"

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared/data/adbench"
# The 12 data sets of the reference figures in shared/data/README.md; the
# benchmark runs every data set in --data-dir and also summarises these apart.
REFERENCE_DATASETS = [
    "cardio",
    "thyroid",
    "annthyroid",
    "breastw",
    "satimage-2",
    "mammography",
    "Pima",
    "WBC",
    "vowels",
    "musk",
    "pendigits",
    "shuttle",
]
TEST_SIZE = 0.3
SUBSAMPLE_SEED = 0


# -- detectors ------------------------------------------------------------------


class PCAReconstruction(BaseEstimator):
    """Outlier score of PCA: minus the squared error of reconstructing each row from its components."""

    def __init__(self, n_components=0.9):
        self.n_components = n_components

    def fit(self, X, y=None):
        self.pca_ = PCA(n_components=self.n_components).fit(X)
        return self

    def score_samples(self, X):
        reconstruction = self.pca_.inverse_transform(self.pca_.transform(X))
        return -np.square(X - reconstruction).sum(axis=1)


class PyODScores(BaseEstimator):
    """A PyOD detector with scikit-learn's sign: ``score_samples`` is higher for more normal rows."""

    def __init__(self, detector):
        self.detector = detector

    def fit(self, X, y=None):
        self.detector.fit(X)
        return self

    def score_samples(self, X):
        return -self.detector.decision_function(X)


def _pyod(detector_class, seed):
    # PyOD picks CUDA when it sees a GPU; skvae defaults to the CPU, so both run there.
    return PyODScores(detector_class(random_state=seed, verbose=0, device="cpu"))


# name -> factory(seed) returning an unfitted estimator with fit(X) and score_samples(X).
DETECTORS = {
    "IsolationForest": lambda seed: IsolationForest(random_state=seed),
    "LOF": lambda seed: LocalOutlierFactor(novelty=True),
    "PCA": lambda seed: make_pipeline(StandardScaler(), PCAReconstruction(n_components=0.9)),
}
SKIPPED = {}  # name -> why it is not available

if pyod is not None:
    DETECTORS["PyOD-AE"] = lambda seed: _pyod(PyODAutoEncoder, seed)
    DETECTORS["PyOD-VAE"] = lambda seed: _pyod(PyODVAE, seed)
else:
    SKIPPED["PyOD-AE"] = SKIPPED["PyOD-VAE"] = f"pyod is not importable ({PYOD_IMPORT_ERROR})"

DETECTORS["skvae-AE"] = lambda seed: make_pipeline(
    StandardScaler(), skvae.AutoencoderOutlierDetector(random_state=seed)
)
DETECTORS["skvae-VAE"] = lambda seed: make_pipeline(
    StandardScaler(), skvae.VAEOutlierDetector(random_state=seed)
)


# -- data -----------------------------------------------------------------------


@dataclass
class Dataset:
    name: str
    file: str
    n_rows: int  # in the file
    X: np.ndarray = field(repr=False)  # after subsampling
    y: np.ndarray = field(repr=False)

    @property
    def anomaly_percent(self):
        return 100 * self.y.mean()


def dataset_name(path):
    """``6_cardio.npz`` -> ``cardio``."""
    return path.stem.split("_", 1)[1]


def find_dataset_files(data_dir, names):
    """The .npz files of the named data sets (all of them when ``names`` is None), in ADBench's order."""
    files = sorted(data_dir.glob("*.npz"), key=lambda path: int(path.stem.split("_", 1)[0]))
    if names is None:
        return files
    by_name = {dataset_name(path).lower(): path for path in files}
    missing = [name for name in names if name.lower() not in by_name]
    if missing:
        known = ", ".join(dataset_name(path) for path in files) or "none"
        raise SystemExit(f"Unknown data set(s) {', '.join(missing)} in {data_dir}; found: {known}.")
    return [by_name[name.lower()] for name in names]


def load_dataset(path, max_rows):
    data = np.load(path)
    X, y = data["X"].astype(np.float64), data["y"].astype(np.int64)
    n_rows = len(y)
    if n_rows > max_rows:
        X, _, y, _ = train_test_split(X, y, train_size=max_rows, stratify=y, random_state=SUBSAMPLE_SEED)
    return Dataset(dataset_name(path), path.name, n_rows, X, y)


# -- running --------------------------------------------------------------------


@dataclass
class Run:
    dataset: str
    detector: str
    seed: int
    roc_auc: float | None = None
    average_precision: float | None = None
    fit_seconds: float | None = None
    score_seconds: float | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)


def run_detector(name, seed, dataset_name, X_train, X_test, y_test):
    """Fit one detector on the training part and score the test part; failures are recorded, not raised."""
    run = Run(dataset_name, name, seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            detector = DETECTORS[name](seed)
            start = time.perf_counter()
            detector.fit(X_train)
            run.fit_seconds = time.perf_counter() - start
            start = time.perf_counter()
            abnormality = -np.asarray(detector.score_samples(X_test), dtype=np.float64)
            run.score_seconds = time.perf_counter() - start
            n_bad = int(np.sum(~np.isfinite(abnormality)))
            if n_bad:
                raise ValueError(f"{n_bad} of {len(abnormality)} test scores are not finite")
            run.roc_auc = float(roc_auc_score(y_test, abnormality))
            run.average_precision = float(average_precision_score(y_test, abnormality))
        except Exception as exc:
            run.error = f"{type(exc).__name__}: {exc}"
    run.warnings = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    return run


def warm_up(detector_names):
    """Fit each detector once, untimed, on random rows.

    The first torch fit of a process pays one-off costs (about 15 s here), which would otherwise be
    charged to whichever detector happens to run first.
    """
    X = np.random.RandomState(0).standard_normal((256, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in detector_names:
            with contextlib.suppress(Exception):  # real failures are reported by the timed runs
                DETECTORS[name](0).fit(X)


def run_benchmark(datasets, detector_names, seeds, log):
    runs, notes = [], []
    for dataset in datasets:
        for seed in seeds:
            X_train, X_test, _, y_test = train_test_split(
                dataset.X, dataset.y, test_size=TEST_SIZE, stratify=dataset.y, random_state=seed
            )
            n_constant = int(np.sum(np.ptp(X_train, axis=0) == 0))
            if n_constant:
                notes.append(
                    f"{dataset.name}, seed {seed}: {n_constant} column(s) constant in the training part"
                )
            for name in detector_names:
                run = run_detector(name, seed, dataset.name, X_train, X_test, y_test)
                runs.append(run)
                outcome = run.error or f"ROC-AUC {run.roc_auc:.3f}  AP {run.average_precision:.3f}"
                fit = "" if run.fit_seconds is None else f"  fit {run.fit_seconds:.1f} s"
                log(f"{dataset.name:<14} seed {seed}  {name:<16} {outcome}{fit}")
    return runs, notes


# -- summarising ----------------------------------------------------------------


def summarise(datasets, detector_names, runs):
    """Mean metrics per data set and detector (over the seeds that succeeded), and per detector overall."""
    cells = {}
    for dataset in datasets:
        for name in detector_names:
            mine = [run for run in runs if run.dataset == dataset.name and run.detector == name]
            ok = [run for run in mine if run.error is None]
            cells[dataset.name, name] = {
                "roc_auc": float(np.mean([run.roc_auc for run in ok])) if ok else None,
                "average_precision": float(np.mean([run.average_precision for run in ok])) if ok else None,
                "n_failed": len(mine) - len(ok),
            }
    complete = [
        dataset.name
        for dataset in datasets
        if all(cells[dataset.name, name]["n_failed"] == 0 for name in detector_names)
    ]
    ranks = {name: [] for name in detector_names}
    for d in complete:
        aucs = [cells[d, name]["roc_auc"] for name in detector_names]
        for name, rank in zip(detector_names, rankdata([-auc for auc in aucs]), strict=True):
            ranks[name].append(float(rank))

    overall = {}
    for name in detector_names:
        mine = [run for run in runs if run.detector == name]
        fit_seconds = [run.fit_seconds for run in mine if run.fit_seconds is not None]
        overall[name] = {
            "roc_auc": _mean([cells[d, name]["roc_auc"] for d in complete]),
            "average_precision": _mean([cells[d, name]["average_precision"] for d in complete]),
            "mean_rank": _mean(ranks[name]),
            "fit_seconds_mean": _mean(fit_seconds),
            "fit_seconds_max": max(fit_seconds) if fit_seconds else None,
            "n_runs": len(mine),
            "n_failed": sum(run.error is not None for run in mine),
        }
    return cells, complete, overall


def _mean(values):
    return float(np.mean(values)) if values else None


# -- printing -------------------------------------------------------------------


def format_table(headers, rows, markdown):
    """Aligned text (or Markdown) table; the first column is left-aligned, the others right-aligned."""
    rows = [[str(value) for value in row] for row in rows]
    if markdown:
        lines = [
            "| " + " | ".join(headers) + " |",
            "|" + "|".join(["---"] + ["---:"] * (len(headers) - 1)) + "|",
        ]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells):
        first, *rest = cells
        return "  ".join(
            [first.ljust(widths[0])] + [c.rjust(w) for c, w in zip(rest, widths[1:], strict=True)]
        )

    return "\n".join([line(headers), "  ".join("-" * w for w in widths)] + [line(row) for row in rows])


def _cell(cell, metric):
    value = cell[metric]
    if value is None:
        return "fail"
    return f"{value:.3f}" + ("*" if cell["n_failed"] else "")


def _number(value, spec):
    return "-" if value is None else format(value, spec)


SUMMARY_HEADERS = [
    "detector",
    "mean ROC-AUC",
    "mean AP",
    "mean rank",
    "fit s (mean)",
    "fit s (max)",
    "failed runs",
]


def summary_rows(overall):
    return [
        [
            name,
            _number(o["roc_auc"], ".3f"),
            _number(o["average_precision"], ".3f"),
            _number(o["mean_rank"], ".2f"),
            _number(o["fit_seconds_mean"], ".2f"),
            _number(o["fit_seconds_max"], ".2f"),
            f"{o['n_failed']}/{o['n_runs']}",
        ]
        for name, o in overall.items()
    ]


def print_report(datasets, detector_names, seeds, cells, complete, overall, notes, runs, markdown):
    heading = (lambda text: f"\n### {text}\n") if markdown else (lambda text: f"\n{text}\n{'=' * len(text)}")
    seed_text = ", ".join(map(str, seeds))
    for metric, title in [("roc_auc", "ROC-AUC"), ("average_precision", "Average precision")]:
        print(heading(f"{title} on the test part, mean over seeds {seed_text}"))
        headers = ["data set", "rows", "features", "anomalies %", *detector_names]
        rows = [
            [d.name, len(d.y), d.X.shape[1], f"{d.anomaly_percent:.2f}"]
            + [_cell(cells[d.name, name], metric) for name in detector_names]
            for d in datasets
        ]
        print(format_table(headers, rows, markdown))

    print(heading(f"Summary over {len(complete)} of {len(datasets)} data sets (those without failures)"))
    print(format_table(SUMMARY_HEADERS, summary_rows(overall), markdown))

    reference = [d for d in datasets if d.name in REFERENCE_DATASETS]
    if len(reference) == len(REFERENCE_DATASETS) < len(datasets):
        reference_runs = [run for run in runs if run.dataset in REFERENCE_DATASETS]
        _, reference_complete, reference_overall = summarise(reference, detector_names, reference_runs)
        print(
            heading(
                f"Summary over the reference data sets ({len(reference_complete)} of them without failures)"
            )
        )
        print(format_table(SUMMARY_HEADERS, summary_rows(reference_overall), markdown))

    notes = list(notes)
    subsampled = [d for d in datasets if len(d.y) < d.n_rows]
    if subsampled:
        notes.append(
            "stratified subsample (seed 0): "
            + ", ".join(f"{d.name} {d.n_rows} -> {len(d.y)} rows" for d in subsampled)
        )
    notes += [f"{name} skipped: {why}" for name, why in SKIPPED.items()]
    notes += [
        f"FAILED {run.dataset}, seed {run.seed}, {run.detector}: {run.error}" for run in runs if run.error
    ]
    if any(run.error for run in runs):
        notes.append("'*' = mean over the seeds that did not fail; 'fail' = every seed failed")
    warned = {}
    for run in runs:
        for message in run.warnings:
            warned.setdefault((run.detector, message), []).append(f"{run.dataset}/{run.seed}")
    for (detector, message), where in warned.items():
        runs_text = ", ".join(where[:4]) + (", ..." if len(where) > 4 else "")
        notes.append(f"warning from {detector} ({len(where)} runs: {runs_text}): {message}")
    print(heading("Notes"))
    print("\n".join(f"- {note}" for note in notes) if notes else "- none")


# -- command line ---------------------------------------------------------------


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=(
            "Unsupervised anomaly-detection benchmark on ADBench data: each detector is fitted on a "
            "stratified 70% training split without labels and scores the 30% test split; prints ROC-AUC "
            "and average precision per data set (mean over seeds), then means, mean ranks and fit times."
        ),
        epilog=f"Detectors: {', '.join(DETECTORS)}."
        + (f" Unavailable here: {', '.join(SKIPPED)}." if SKIPPED else "")
        + " Run with OMP_NUM_THREADS=1; the script also limits torch and BLAS to one thread.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        default=DEFAULT_DATA_DIR,
        help="folder of ADBench .npz files (keys X, y)",
    )
    parser.add_argument(
        "--datasets",
        nargs="+",
        metavar="NAME",
        help="data sets by name, without the number prefix of the file (e.g. cardio musk), or 'reference' "
        f"for {', '.join(REFERENCE_DATASETS)}; default: every .npz file in --data-dir",
    )
    parser.add_argument(
        "--detectors", nargs="+", metavar="NAME", default=list(DETECTORS), help="a subset of the detectors"
    )
    parser.add_argument(
        "--seeds",
        nargs="+",
        type=int,
        metavar="SEED",
        default=[0, 1, 2],
        help="seeds of the train/test splits",
    )
    parser.add_argument(
        "--max-rows",
        type=int,
        default=10_000,
        help="stratified-subsample larger data sets to this many rows (lower it for a quick smoke run)",
    )
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables instead of text")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write every run's raw results here")
    parser.add_argument("--quiet", action="store_true", help="no per-run progress lines on stderr")
    args = parser.parse_args(argv)
    unknown = [name for name in args.detectors if name not in DETECTORS]
    if unknown:
        hint = {name: SKIPPED[name] for name in unknown if name in SKIPPED}
        parser.error(
            f"unknown or unavailable detector(s) {unknown} {hint or ''}; available: {list(DETECTORS)}"
        )
    if args.max_rows < 10:
        parser.error("--max-rows must be at least 10")
    return args


def versions():
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "torch": torch.__version__,
        "skvae": skvae.__version__,
        "pyod": None if pyod is None else pyod.__version__,
    }


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(1)
    names = REFERENCE_DATASETS if args.datasets == ["reference"] else args.datasets
    files = find_dataset_files(args.data_dir, names)
    if not files:
        raise SystemExit(f"No .npz files in {args.data_dir}.")

    def log(message):
        if not args.quiet:
            print(message, file=sys.stderr, flush=True)

    start = time.perf_counter()
    with threadpool_limits(limits=1):
        datasets = [load_dataset(path, args.max_rows) for path in files]
        warm_up(args.detectors)
        runs, notes = run_benchmark(datasets, args.detectors, args.seeds, log)
    wall_seconds = time.perf_counter() - start

    cells, complete, overall = summarise(datasets, args.detectors, runs)
    print_report(datasets, args.detectors, args.seeds, cells, complete, overall, notes, runs, args.markdown)
    print(
        f"\nTotal time {wall_seconds / 60:.1f} min; " + ", ".join(f"{k} {v}" for k, v in versions().items())
    )

    if args.json:
        result = {
            "protocol": {
                "seeds": args.seeds,
                "test_size": TEST_SIZE,
                "max_rows": args.max_rows,
                "subsample_seed": SUBSAMPLE_SEED,
            },
            "versions": versions(),
            "wall_seconds": wall_seconds,
            "datasets": [
                {
                    "name": d.name,
                    "file": d.file,
                    "rows_in_file": d.n_rows,
                    "rows_used": len(d.y),
                    "features": d.X.shape[1],
                    "anomaly_percent": d.anomaly_percent,
                }
                for d in datasets
            ],
            "runs": [asdict(run) for run in runs],
            "per_dataset": [{"dataset": d, "detector": n, **cell} for (d, n), cell in cells.items()],
            "complete_datasets": complete,
            "summary": overall,
            "notes": notes,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
