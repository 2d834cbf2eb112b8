"""Unsupervised anomaly detection on ADBench tabular data: skvae next to classical and PyOD detectors.

Protocol (fixed, so that numbers from different runs are comparable):

* Data sets with more than ``--max-rows`` rows (default 10,000) are stratified-subsampled to that many
  rows (seed 0).
* For each seed (default 0, 1, 2): a stratified 70/30 split. Every detector is fitted on the training
  part without its labels -- anomalies included -- and scores the test part.
* Score = minus ``score_samples`` (scikit-learn's sign: higher = more normal), so that higher = more
  abnormal; ROC-AUC and average precision (AP) take the anomalies (y = 1) as the positive class.
* Reported per data set: the mean over seeds. Then, per detector: the mean across data sets, the mean
  rank of ROC-AUC (1 = best) and the fit time per fit, wall-clock and CPU (one CPU thread; every
  detector is fitted once on random data before the timed runs, so that torch's one-off start-up cost
  is charged to none of them).
* The 30 shared data sets are split, once and for all, into a development half and a confirmation half
  (alternating in ADBench's numbering: ``DEVELOPMENT_DATASETS`` and ``CONFIRMATION_DATASETS`` below).
  Defaults are chosen looking at the development half only (``--split development``); the confirmation
  half says whether the choice carries over. Every summary is printed for each half apart.

Contamination sweep (``--contamination-sweep``): on the data sets with at least 500 normal rows, the
same splits, but each training part is rebuilt with a chosen share of anomalies (default 0%, 5%, 20%
and 40%): all its normal rows plus as many of its anomalies as that share needs, drawn at random (seed
of the split); where the training part holds too few anomalies, normal rows are dropped at random
instead, so that the share is exact. The test parts are unchanged. Reported: mean ROC-AUC and AP per
detector and level. The higher levels so train on fewer rows where a set has few anomalies (at 40%,
most sets on under a third of the rows of 0%); ``--same-size`` gives every level as many rows as the
highest level can have, so that the levels differ in their share of anomalies only.

Fit time on shapes the shared sets lack (``--fit-time``): each detector fitted on synthetic rows
(5 latent factors plus noise) of 7,000 rows -- the training part of a 10,000-row set --
and 10 to 2,000 columns (``--columns``); prints the fit's CPU seconds, the mean over the seeds.

Preprocessing: IsolationForest and LOF see the raw features, as in ADBench. PCA and the skvae models
are preceded by a StandardScaler. PyOD's AutoEncoder and VAE get the raw features too: with their
default ``preprocessing=True`` they standardise internally (training mean and standard deviation).

Variants: a detector name may carry parameters for its last step, ``NAME:param=value,param=value``
(values are Python literals), e.g. ``skvae-VAE:max_iter=60,n_components=8`` or
``skvae-VAE:robust_threshold=None`` (no robust training); a name with a leading underscore sets a
private attribute instead.

A failure or a non-finite score is reported in the output, for its data set, detector and seed, and the
run goes on. Means across data sets and ranks only use the data sets where every detector succeeded on
every seed.

Run with one thread (the machine is shared)::

    OMP_NUM_THREADS=1 python benchmarks/bench_anomaly.py                     # every data set in --data-dir
    OMP_NUM_THREADS=1 python benchmarks/bench_anomaly.py --datasets reference  # the 12 of the data README
    OMP_NUM_THREADS=1 python benchmarks/bench_anomaly.py --datasets cardio vowels --seeds 0 --max-rows 1000
    OMP_NUM_THREADS=1 python benchmarks/bench_anomaly.py --markdown --json anomaly.json
    OMP_NUM_THREADS=1 python benchmarks/bench_anomaly.py --split development \\
        --detectors IsolationForest skvae-VAE skvae-VAE:max_iter=60   # compare variants on one half
    OMP_NUM_THREADS=1 python benchmarks/bench_anomaly.py --contamination-sweep --detectors IsolationForest PCA
    OMP_NUM_THREADS=1 python benchmarks/bench_anomaly.py --fit-time --detectors skvae-AE skvae-VAE
    OMP_NUM_THREADS=1 python benchmarks/bench_anomaly.py --detectors skvae-VAE-x3  # three seeds averaged
"""

import argparse
import ast
import contextlib
import json
import platform
import re
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
# The fixed development / confirmation split of the 30 shared data sets: alternating in ADBench's
# numbering (1_ALOI development, 2_annthyroid confirmation, 4_breastw development, ...). Written out
# rather than computed, so that adding a data set to the folder does not move the others.
DEVELOPMENT_DATASETS = [
    "ALOI",
    "breastw",
    "cardio",
    "cover",
    "glass",
    "http",
    "Ionosphere",
    "Lymphography",
    "mammography",
    "pendigits",
    "satimage-2",
    "skin",
    "Stamps",
    "vowels",
    "WDBC",
]
CONFIRMATION_DATASETS = [
    "annthyroid",
    "campaign",
    "celeba",
    "donors",
    "Hepatitis",
    "InternetAds",
    "letter",
    "magic.gamma",
    "musk",
    "Pima",
    "shuttle",
    "smtp",
    "thyroid",
    "WBC",
    "wine",
]
TEST_SIZE = 0.3
SUBSAMPLE_SEED = 0
# The contamination sweep runs on the data sets with at least this many normal rows.
SWEEP_MIN_NORMAL_ROWS = 500


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


class SeedEnsemble(BaseEstimator):
    """The mean ``score_samples`` of a few detectors that differ in their seed alone.

    A measure of what averaging buys (the "cheap ensembles" of issue #15), not a skvae class: each
    member trains fully, so a fit takes ``n_members`` times as long as one detector's.
    """

    def __init__(self, make_member, seed, n_members=3):
        self.make_member, self.seed, self.n_members = make_member, seed, n_members

    def fit(self, X, y=None):
        self.members_ = [self.make_member(100 * self.seed + i).fit(X) for i in range(self.n_members)]
        return self

    def score_samples(self, X):
        return np.mean([member.score_samples(X) for member in self.members_], axis=0)


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
# Three VAE detectors of different seeds, their log-likelihoods averaged (no variants by name).
DETECTORS["skvae-VAE-x3"] = lambda seed: SeedEnsemble(DETECTORS["skvae-VAE"], seed)
OPT_IN_DETECTORS = ["skvae-VAE-x3"]  # measurements, not defaults: run only when named


def parse_detector(spec):
    """``NAME`` or ``NAME:param=value,...`` -> (name, {param: value}); values are Python literals."""
    name, _, settings = spec.partition(":")
    params = {}
    for setting in filter(None, re.split(r",(?![^()\[\]]*[)\]])", settings)):  # not within brackets
        key, equals, value = setting.partition("=")
        if not equals:
            raise ValueError(f"{spec!r}: expected param=value, got {setting!r}")
        try:
            params[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            params[key.strip()] = value.strip()  # a bare string, e.g. activation=tanh
    return name, params


def make_detector(spec, seed):
    """An unfitted detector for ``spec`` (see ``parse_detector``), its parameters set on the last step."""
    name, params = parse_detector(spec)
    detector = DETECTORS[name](seed)
    if params:
        last = detector.steps[-1][1] if hasattr(detector, "steps") else detector
        last = last.detector if isinstance(last, PyODScores) else last
        last.set_params(**{key: value for key, value in params.items() if not key.startswith("_")})
        # A leading underscore sets a private attribute (for ablations of what is not a parameter).
        for key, value in params.items():
            if key.startswith("_"):
                if not hasattr(last, key):
                    raise ValueError(f"{type(last).__name__} has no attribute {key!r}")
                setattr(last, key, value)
    return detector


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

    @property
    def half(self):
        """ "development", "confirmation" or "other" (a data set not among the 30 shared ones)."""
        if self.name in DEVELOPMENT_DATASETS:
            return "development"
        return "confirmation" if self.name in CONFIRMATION_DATASETS else "other"


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
    contamination: float | None = None  # share of anomalies in the training part (sweep); None = as split
    roc_auc: float | None = None
    average_precision: float | None = None
    fit_seconds: float | None = None
    fit_cpu_seconds: float | None = None
    score_seconds: float | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)


def run_detector(spec, seed, dataset_name, X_train, X_test, y_test, contamination=None):
    """Fit one detector on the training part and score the test part; failures are recorded, not raised."""
    run = Run(dataset_name, spec, seed, contamination)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            detector = make_detector(spec, seed)
            start, cpu_start = time.perf_counter(), time.process_time()
            detector.fit(X_train)
            run.fit_seconds = time.perf_counter() - start
            run.fit_cpu_seconds = time.process_time() - cpu_start
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


def warm_up(detector_specs):
    """Fit each detector once, untimed, on random rows.

    The first torch fit of a process pays one-off costs (about 15 s here), which would otherwise be
    charged to whichever detector happens to run first.
    """
    X = np.random.RandomState(0).standard_normal((256, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for spec in detector_specs:
            with contextlib.suppress(Exception):  # real failures are reported by the timed runs
                make_detector(spec, 0).fit(X)


def fit_time_check(detector_specs, columns, seeds, markdown):
    """CPU seconds of each detector's fit on 7,000 synthetic rows of each width in ``columns``."""
    rows = []
    for n_columns in columns:
        row = [n_columns]
        for spec in detector_specs:
            seconds = []
            for seed in seeds:
                rng = np.random.default_rng(seed)
                X = rng.normal(size=(7000, 5)) @ rng.normal(size=(5, n_columns))
                X += rng.normal(size=X.shape)
                detector = make_detector(spec, seed)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    cpu_start = time.process_time()
                    detector.fit(X)
                seconds.append(time.process_time() - cpu_start)
            row.append(float(np.mean(seconds)))
        rows.append(row)
    print(_heading(markdown)("Fit CPU seconds on 7,000 synthetic rows, by number of columns"))
    headers = ["columns", *detector_specs]
    print(format_table(headers, [[row[0], *(f"{v:.2f}" for v in row[1:])] for row in rows], markdown))


def contaminate(X_train, y_train, share, seed, top_share=None):
    """The training rows rebuilt with ``share`` anomalies: all normal rows and enough anomalies.

    Where the training part has too few anomalies for that share, normal rows are dropped (at random)
    instead, so that the share is exact; the rows are returned in a random order. With ``top_share``
    (the sweep's highest level), every level gets the number of rows that level can have, so that
    the levels differ in their share of anomalies only, not in their size.
    """
    rng = np.random.RandomState(seed)
    normal, abnormal = np.flatnonzero(y_train == 0), np.flatnonzero(y_train == 1)
    if top_share is not None:
        # As many as level 0 has normal rows for, and the top level anomalies for.
        n_rows = int(min(len(normal), len(abnormal) / top_share))
        n_abnormal = int(round(share * n_rows))
        normal = rng.choice(normal, n_rows - n_abnormal, replace=False)
    else:
        n_abnormal = int(round(share / (1 - share) * len(normal)))
    if n_abnormal > len(abnormal):
        n_abnormal = len(abnormal)
        normal = rng.choice(normal, int(round(n_abnormal * (1 - share) / share)), replace=False)
    rows = rng.permutation(np.concatenate([normal, rng.choice(abnormal, n_abnormal, replace=False)]))
    return X_train[rows]


def run_benchmark(datasets, detector_specs, seeds, log, levels=None, same_size=False):
    """Every detector on every split; with ``levels``, once per training contamination level (with
    ``same_size``, of as many rows at every level as the highest level can have)."""
    runs, notes = [], []
    for dataset in datasets:
        for seed in seeds:
            X_train, X_test, y_train, y_test = train_test_split(
                dataset.X, dataset.y, test_size=TEST_SIZE, stratify=dataset.y, random_state=seed
            )
            n_constant = int(np.sum(np.ptp(X_train, axis=0) == 0))
            if n_constant:
                notes.append(
                    f"{dataset.name}, seed {seed}: {n_constant} column(s) constant in the training part"
                )
            for level in [None] if levels is None else levels:
                top_share = max(levels) if same_size and levels and max(levels) > 0 else None
                X_fit = X_train if level is None else contaminate(X_train, y_train, level, seed, top_share)
                for spec in detector_specs:
                    run = run_detector(spec, seed, dataset.name, X_fit, X_test, y_test, level)
                    runs.append(run)
                    outcome = run.error or f"ROC-AUC {run.roc_auc:.3f}  AP {run.average_precision:.3f}"
                    fit = "" if run.fit_seconds is None else f"  fit {run.fit_seconds:.1f} s"
                    where = "" if level is None else f"  {100 * level:>2.0f}% ({len(X_fit)} rows)"
                    log(f"{dataset.name:<14} seed {seed}{where}  {spec:<20} {outcome}{fit}")
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
    names = {dataset.name for dataset in datasets}
    for name in detector_names:
        mine = [run for run in runs if run.detector == name and run.dataset in names]
        fit_seconds = [run.fit_seconds for run in mine if run.fit_seconds is not None]
        fit_cpu_seconds = [run.fit_cpu_seconds for run in mine if run.fit_cpu_seconds is not None]
        overall[name] = {
            "roc_auc": _mean([cells[d, name]["roc_auc"] for d in complete]),
            "average_precision": _mean([cells[d, name]["average_precision"] for d in complete]),
            "mean_rank": _mean(ranks[name]),
            "fit_seconds_mean": _mean(fit_seconds),
            "fit_seconds_max": max(fit_seconds) if fit_seconds else None,
            "fit_cpu_seconds_mean": _mean(fit_cpu_seconds),
            "fit_cpu_seconds_max": max(fit_cpu_seconds) if fit_cpu_seconds else None,
            "n_runs": len(mine),
            "n_failed": sum(run.error is not None for run in mine),
        }
    return cells, complete, overall


def summarise_halves(datasets, detector_names, runs):
    """``summarise`` over each half of the shared data sets that the run covers, by half."""
    halves = {}
    for half in ("development", "confirmation", "other"):
        mine = [d for d in datasets if d.half == half]
        if mine:
            _, complete, overall = summarise(mine, detector_names, runs)
            halves[half] = {"datasets": [d.name for d in mine], "complete": complete, "summary": overall}
    return halves


def summarise_sweep(datasets, detector_names, runs, levels):
    """{level: {"complete": [...], "summary": {detector: ...}}} from the sweep's runs."""
    return {
        level: dict(
            zip(
                ("complete", "summary"),
                summarise(datasets, detector_names, [r for r in runs if r.contamination == level])[1:],
                strict=True,
            )
        )
        for level in levels
    }


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
    "fit CPU s (max)",
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
            _number(o["fit_cpu_seconds_max"], ".2f"),
            f"{o['n_failed']}/{o['n_runs']}",
        ]
        for name, o in overall.items()
    ]


def _heading(markdown):
    return (lambda text: f"\n### {text}\n") if markdown else (lambda text: f"\n{text}\n{'=' * len(text)}")


def print_report(datasets, detector_names, seeds, cells, complete, overall, notes, runs, markdown):
    heading = _heading(markdown)
    seed_text = ", ".join(map(str, seeds))
    for metric, title in [("roc_auc", "ROC-AUC"), ("average_precision", "Average precision")]:
        print(heading(f"{title} on the test part, mean over seeds {seed_text}"))
        headers = ["data set", "half", "rows", "features", "anomalies %", *detector_names]
        rows = [
            [d.name, d.half[:4], len(d.y), d.X.shape[1], f"{d.anomaly_percent:.2f}"]
            + [_cell(cells[d.name, name], metric) for name in detector_names]
            for d in datasets
        ]
        print(format_table(headers, rows, markdown))

    print(heading(f"Summary over {len(complete)} of {len(datasets)} data sets (those without failures)"))
    print(format_table(SUMMARY_HEADERS, summary_rows(overall), markdown))

    for half, result in summarise_halves(datasets, detector_names, runs).items():
        if len(result["datasets"]) == len(datasets):
            continue  # the run covers one half only: its summary is the one above
        print(
            heading(
                f"Summary over the {half} half ({len(result['complete'])} of {len(result['datasets'])} "
                "data sets without failures)"
            )
        )
        print(format_table(SUMMARY_HEADERS, summary_rows(result["summary"]), markdown))

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
    print_notes(datasets, notes, runs, markdown)


def print_sweep(datasets, detector_names, seeds, levels, sweep, runs, notes, markdown):
    heading = _heading(markdown)
    print(
        heading(
            f"Contamination sweep: {len(datasets)} data sets with >= {SWEEP_MIN_NORMAL_ROWS} normal rows, "
            f"seeds {', '.join(map(str, seeds))}"
        )
    )
    print(", ".join(d.name for d in datasets))
    for metric, title in [("roc_auc", "mean ROC-AUC"), ("average_precision", "mean AP")]:
        print(heading(f"{title} by share of anomalies in the training rows (test rows unchanged)"))
        headers = ["detector"] + [f"{100 * level:g}%" for level in levels]
        rows = [
            [name] + [_number(sweep[level]["summary"][name][metric], ".3f") for level in levels]
            for name in detector_names
        ]
        print(format_table(headers, rows, markdown))
    print(heading("Fit CPU seconds by level (mean / max)"))
    headers = ["detector"] + [f"{100 * level:g}%" for level in levels]
    rows = [
        [name]
        + [
            f"{_number(sweep[level]['summary'][name]['fit_cpu_seconds_mean'], '.2f')} / "
            f"{_number(sweep[level]['summary'][name]['fit_cpu_seconds_max'], '.2f')}"
            for level in levels
        ]
        for name in detector_names
    ]
    print(format_table(headers, rows, markdown))
    incomplete = {level: len(datasets) - len(sweep[level]["complete"]) for level in levels}
    if any(incomplete.values()):
        notes = [*notes, f"data sets left out of a level's means for a failure: {incomplete}"]
    print_notes(datasets, notes, runs, markdown)


def print_notes(datasets, notes, runs, markdown):
    notes = list(notes)
    subsampled = [d for d in datasets if len(d.y) < d.n_rows]
    if subsampled:
        notes.append(
            "stratified subsample (seed 0): "
            + ", ".join(f"{d.name} {d.n_rows} -> {len(d.y)} rows" for d in subsampled)
        )
    notes += [f"{name} skipped: {why}" for name, why in SKIPPED.items()]
    notes += [
        f"FAILED {run.dataset}, seed {run.seed}"
        + ("" if run.contamination is None else f", {100 * run.contamination:g}%")
        + f", {run.detector}: {run.error}"
        for run in runs
        if run.error
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
    print(_heading(markdown)("Notes"))
    print("\n".join(f"- {note}" for note in notes) if notes else "- none")


# -- command line ---------------------------------------------------------------


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=(
            "Unsupervised anomaly-detection benchmark on ADBench data: each detector is fitted on a "
            "stratified 70% training split without labels and scores the 30% test split; prints ROC-AUC "
            "and average precision per data set (mean over seeds), then means, mean ranks and fit times, "
            "over all data sets and over each half (development / confirmation)."
        ),
        epilog=f"Detectors: {', '.join(DETECTORS)}; NAME:param=value,... sets parameters of its last step."
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
        "--split",
        choices=["all", "development", "confirmation"],
        default="all",
        help="run only one half of the shared data sets (of those --datasets selects)",
    )
    parser.add_argument(
        "--detectors",
        nargs="+",
        metavar="NAME",
        default=[name for name in DETECTORS if name not in OPT_IN_DETECTORS],
        help="a subset of the detectors; NAME:param=value,... for a variant (e.g. skvae-VAE:max_iter=60); "
        f"{', '.join(OPT_IN_DETECTORS)} only when named",
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
    parser.add_argument(
        "--contamination-sweep",
        action="store_true",
        help=f"instead of the plain splits: on the data sets with >= {SWEEP_MIN_NORMAL_ROWS} normal rows, "
        "training parts rebuilt with each share of --levels anomalies",
    )
    parser.add_argument(
        "--levels",
        nargs="+",
        type=float,
        metavar="SHARE",
        default=[0.0, 0.05, 0.2, 0.4],
        help="shares of anomalies in the training rows, in [0, 1), for --contamination-sweep",
    )
    parser.add_argument(
        "--same-size",
        action="store_true",
        help="--contamination-sweep with as many training rows at every level as the highest level can "
        "have: the levels differ in their share of anomalies only",
    )
    parser.add_argument(
        "--fit-time",
        action="store_true",
        help="instead of the data sets: fit times on 7,000 synthetic rows of each width in --columns",
    )
    parser.add_argument(
        "--columns",
        nargs="+",
        type=int,
        metavar="N",
        default=[10, 50, 100, 200, 300, 512, 768, 2000],
        help="widths for --fit-time",
    )
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables instead of text")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write every run's raw results here")
    parser.add_argument("--quiet", action="store_true", help="no per-run progress lines on stderr")
    args = parser.parse_args(argv)
    unknown = []
    for spec in args.detectors:
        try:
            name, _ = parse_detector(spec)
        except ValueError as exc:
            parser.error(str(exc))
        if name not in DETECTORS:
            unknown.append(name)
    if unknown:
        hint = {name: SKIPPED[name] for name in unknown if name in SKIPPED}
        parser.error(
            f"unknown or unavailable detector(s) {unknown} {hint or ''}; available: {list(DETECTORS)}"
        )
    if len(set(args.detectors)) < len(args.detectors):
        parser.error("a detector is named twice")
    if args.max_rows < 10:
        parser.error("--max-rows must be at least 10")
    if not all(0 <= level < 1 for level in args.levels):
        parser.error("--levels must be in [0, 1)")
    if args.same_size and not args.contamination_sweep:
        parser.error("--same-size applies to --contamination-sweep")
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
    if args.fit_time:
        with threadpool_limits(limits=1):
            warm_up(args.detectors)
            fit_time_check(args.detectors, args.columns, args.seeds, args.markdown)
        return
    names = REFERENCE_DATASETS if args.datasets == ["reference"] else args.datasets
    files = find_dataset_files(args.data_dir, names)
    if args.split != "all":
        half = {name.lower() for name in globals()[f"{args.split.upper()}_DATASETS"]}
        files = [path for path in files if dataset_name(path).lower() in half]
    if not files:
        raise SystemExit(f"No .npz files in {args.data_dir} for this selection.")

    def log(message):
        if not args.quiet:
            print(message, file=sys.stderr, flush=True)

    start = time.perf_counter()
    with threadpool_limits(limits=1):
        datasets = [load_dataset(path, args.max_rows) for path in files]
        levels = None
        if args.contamination_sweep:
            datasets = [d for d in datasets if np.sum(d.y == 0) >= SWEEP_MIN_NORMAL_ROWS]
            levels = args.levels
        warm_up(args.detectors)
        runs, notes = run_benchmark(datasets, args.detectors, args.seeds, log, levels, args.same_size)
    wall_seconds = time.perf_counter() - start

    result = {}
    if args.contamination_sweep:
        sweep = summarise_sweep(datasets, args.detectors, runs, levels)
        print_sweep(datasets, args.detectors, args.seeds, levels, sweep, runs, notes, args.markdown)
        result["sweep"] = {str(level): value for level, value in sweep.items()}
    else:
        cells, complete, overall = summarise(datasets, args.detectors, runs)
        print_report(
            datasets, args.detectors, args.seeds, cells, complete, overall, notes, runs, args.markdown
        )
        result.update(
            per_dataset=[{"dataset": d, "detector": n, **cell} for (d, n), cell in cells.items()],
            complete_datasets=complete,
            summary=overall,
            halves=summarise_halves(datasets, args.detectors, runs),
        )
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
                "split": args.split,
                "contamination_levels": levels,
            },
            "versions": versions(),
            "wall_seconds": wall_seconds,
            "datasets": [
                {
                    "name": d.name,
                    "file": d.file,
                    "half": d.half,
                    "rows_in_file": d.n_rows,
                    "rows_used": len(d.y),
                    "features": d.X.shape[1],
                    "anomaly_percent": d.anomaly_percent,
                }
                for d in datasets
            ],
            "runs": [asdict(run) for run in runs],
            **result,
            "notes": notes,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
