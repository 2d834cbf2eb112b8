"""What scikit-learn's callbacks cost a fit: none set, ProgressBar, ScoringMonitor.

The fit of bench_speed.py (50,000 x 100 float32 rows, 100-64-32-8 ReLU
networks, Adam lr 1e-3, batches of 256, 5 epochs), for AutoencoderTransformer
and VAETransformer. The contenders:

  baseline      the skvae package found in ``--baseline DIR`` (e.g. an export
                of main before callbacks), imported under another name, no
                callback: what fit cost before
  none          this skvae, no callback set
  progressbar   ``set_callbacks(ProgressBar())``, rendering live as in a
                terminal (rich's TTY_INTERACTIVE=1) to a discarded stream
  scoring       with ``--scoring`` only: ``set_callbacks(ScoringMonitor(...))``
                scoring the model after every epoch: a copy of it, its post-fit
                pass and its score on all rows, per epoch (fit is given a y,
                which ScoringMonitor needs); the VAE's score takes 50
                importance samples per row

All contenders run in one process, one after the other in rounds (after an
untimed warm-up fit each), so that a round's fits share the machine's load;
each round starts one contender later than the one before, so that no
contender always runs first. The table gives medians over ``--repeats``
rounds, and the median over rounds of each fit's CPU time relative to the
round's fit of the same estimator with no callback.

Usage::

    git archive <main's commit> skvae | tar -x -C /tmp/skvae_main
    OMP_NUM_THREADS=1 python benchmarks/bench_callbacks.py --repeats 9 --baseline /tmp/skvae_main/skvae
    OMP_NUM_THREADS=1 python benchmarks/bench_callbacks.py --repeats 3 --scoring

CPU time counts every thread of the process (rich's renderer included). This
script is no test: it prints a table and asserts nothing.
"""

import argparse
import contextlib
import importlib.util
import io
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_speed import BATCH_SIZE, HIDDEN_LAYER_SIZES, LEARNING_RATE, N_COMPONENTS, make_data  # noqa: E402

N_SAMPLES = 50_000
EPOCHS = 5
ESTIMATORS = ("AutoencoderTransformer", "VAETransformer")


def import_baseline(directory):
    """The skvae package in ``directory``, imported as ``skvae_baseline`` next to this one."""
    spec = importlib.util.spec_from_file_location(
        "skvae_baseline", Path(directory) / "__init__.py", submodule_search_locations=[str(directory)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["skvae_baseline"] = module
    spec.loader.exec_module(module)
    return module


def make_fit(package, estimator_name, callback=None):
    def fit(X, y):
        estimator = getattr(package, estimator_name)(
            n_components=N_COMPONENTS,
            hidden_layer_sizes=HIDDEN_LAYER_SIZES,
            learning_rate_init=LEARNING_RATE,
            batch_size=BATCH_SIZE,
            max_iter=EPOCHS,
            tol=0.0,
            n_iter_no_change=1000,
            random_state=0,
        )
        if callback is not None:
            estimator.set_callbacks(callback())
        # rich draws to stdout: discarded, but drawn.
        with contextlib.redirect_stdout(io.StringIO()):
            return estimator.fit(X, y)

    return fit


def scoring_monitor():
    from sklearn.callback import ScoringMonitor

    return ScoringMonitor(scoring=lambda model, X, y: {"score": model.score(X)})


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--baseline", help="the directory of a skvae package to compare with")
    parser.add_argument("--scoring", action="store_true", help="also time ScoringMonitor")
    args = parser.parse_args()

    os.environ["TTY_INTERACTIVE"] = "1"
    import numpy as np
    import torch
    from sklearn.callback import ProgressBar
    from sklearn.exceptions import ConvergenceWarning

    import skvae

    torch.set_num_threads(1)
    warnings.simplefilter("ignore", ConvergenceWarning)
    contenders = {}
    for name in ESTIMATORS:
        if args.baseline:
            contenders[name, "baseline"] = make_fit(import_baseline(args.baseline), name)
        contenders[name, "none"] = make_fit(skvae, name)
        contenders[name, "progressbar"] = make_fit(skvae, name, ProgressBar)
        if args.scoring:
            contenders[name, "scoring"] = make_fit(skvae, name, scoring_monitor)

    X = make_data(N_SAMPLES)
    y = np.zeros(len(X))
    for fit in contenders.values():
        fit(X[:1024], y[:1024])  # untimed: one-off costs
    runs = {key: [] for key in contenders}
    keys = list(contenders)
    for repeat in range(args.repeats):
        for key in keys[repeat % len(keys) :] + keys[: repeat % len(keys)]:
            fit = contenders[key]
            wall, cpu = time.perf_counter(), time.process_time()
            model = fit(X, y)
            runs[key].append((time.perf_counter() - wall, time.process_time() - cpu))
            assert model.n_iter_ == EPOCHS
            print(f"round {repeat + 1}: {key} {runs[key][-1][0]:.2f} s", file=sys.stderr, flush=True)

    print(f"{N_SAMPLES:,} x 100 rows, {EPOCHS} epochs, {args.repeats} rounds in one process")
    print("| estimator | callbacks | fit s | fit CPU s | CPU vs none (median of rounds) |")
    print("|---|---|---|---|---|")
    for (estimator, contender), results in runs.items():
        reference = runs[estimator, "none"]
        ratios = [cpu / none_cpu - 1 for (_, cpu), (_, none_cpu) in zip(results, reference, strict=True)]
        wall = statistics.median(wall for wall, _ in results)
        cpu = statistics.median(cpu for _, cpu in results)
        print(f"| {estimator} | {contender} | {wall:.2f} | {cpu:.2f} | {statistics.median(ratios):+.1%} |")


if __name__ == "__main__":
    main()
