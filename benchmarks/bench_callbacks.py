"""What scikit-learn's callbacks cost a fit: none set, ProgressBar, ScoringMonitor.

The fit of bench_speed.py (50,000 x 100 float32 rows, 100-64-32-8 ReLU
networks, Adam lr 1e-3, batches of 256, 5 epochs), for AutoencoderTransformer
and VAETransformer, each fit in its own fresh process after an untimed
1,024-row warm-up fit, contenders taken round-robin, medians of ``--repeats``:

  baseline      the skvae found in ``--baseline DIR`` (e.g. an export of main
                before callbacks), no callback: what fit cost before
  none          this skvae, no callback set
  progressbar   ``set_callbacks(ProgressBar())``, rendering live as in a
                terminal (rich's TTY_INTERACTIVE=1), its output discarded
  scoring       ``set_callbacks(ScoringMonitor(...))`` scoring the model after
                every epoch: a copy of it, its post-fit pass and its score on
                all rows, per epoch (fit is given a y, which ScoringMonitor needs)

Usage::

    git archive <main's commit> skvae | tar -x -C /tmp/skvae_main
    OMP_NUM_THREADS=1 python benchmarks/bench_callbacks.py --repeats 7 --baseline /tmp/skvae_main

CPU time counts every thread of the process (rich's renderer included). This
script is no test: it prints a table and asserts nothing.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_speed import BATCH_SIZE, HIDDEN_LAYER_SIZES, LEARNING_RATE, N_COMPONENTS, make_data  # noqa: E402

N_SAMPLES = 50_000
EPOCHS = 5
ESTIMATORS = ("AutoencoderTransformer", "VAETransformer")
CONTENDERS = ("baseline", "none", "progressbar", "scoring")


def worker(estimator_name, contender, output):
    import numpy as np
    import torch
    from sklearn.exceptions import ConvergenceWarning

    import skvae

    torch.set_num_threads(1)
    warnings.simplefilter("ignore", ConvergenceWarning)

    def make():
        estimator = getattr(skvae, estimator_name)(
            n_components=N_COMPONENTS,
            hidden_layer_sizes=HIDDEN_LAYER_SIZES,
            learning_rate_init=LEARNING_RATE,
            batch_size=BATCH_SIZE,
            max_iter=EPOCHS,
            tol=0.0,
            n_iter_no_change=1000,
            random_state=0,
        )
        if contender == "progressbar":
            from sklearn.callback import ProgressBar

            estimator.set_callbacks(ProgressBar())
        elif contender == "scoring":
            from sklearn.callback import ScoringMonitor

            estimator.set_callbacks(ScoringMonitor(scoring=lambda model, X, y: {"score": model.score(X)}))
        return estimator

    X = make_data(N_SAMPLES)
    y = np.zeros(len(X))
    make().fit(X[:1024], y[:1024])  # untimed: one-off costs of a process
    wall, cpu = time.perf_counter(), time.process_time()
    model = make().fit(X, y)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert model.n_iter_ == EPOCHS
    Path(output).write_text(json.dumps({"wall": wall, "cpu": cpu, "skvae": skvae.__file__}))


def spawn(estimator_name, contender, baseline):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TTY_INTERACTIVE": "1"}
    if contender == "baseline":
        env["PYTHONPATH"] = os.pathsep.join([baseline, env.get("PYTHONPATH", "")])
    with tempfile.TemporaryDirectory() as directory:
        output = Path(directory) / "result.json"
        subprocess.run(
            [sys.executable, __file__, "--worker", estimator_name, contender, str(output)],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        return json.loads(output.read_text())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--baseline", help="a directory holding the skvae package to compare with")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return

    contenders = [name for name in CONTENDERS if name != "baseline" or args.baseline]
    runs = {(estimator, contender): [] for estimator in ESTIMATORS for contender in contenders}
    for repeat in range(args.repeats):
        for key in runs:
            runs[key].append(spawn(*key, args.baseline))
            print(f"repeat {repeat + 1}: {key} {runs[key][-1]['wall']:.2f} s", file=sys.stderr, flush=True)
    for key, results in runs.items():
        if key[1] == "baseline":
            assert all(args.baseline in result["skvae"] for result in results), "baseline imported this skvae"

    print(f"{N_SAMPLES:,} x 100 rows, {EPOCHS} epochs, median of {args.repeats} fresh processes")
    print("| estimator | callbacks | fit s | fit CPU s | CPU vs none |")
    print("|---|---|---|---|---|")
    for estimator in ESTIMATORS:
        reference = statistics.median(result["cpu"] for result in runs[estimator, "none"])
        for contender in contenders:
            wall = statistics.median(result["wall"] for result in runs[estimator, contender])
            cpu = statistics.median(result["cpu"] for result in runs[estimator, contender])
            print(f"| {estimator} | {contender} | {wall:.2f} | {cpu:.2f} | {cpu / reference - 1:+.1%} |")


if __name__ == "__main__":
    main()
