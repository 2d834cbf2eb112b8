"""Write the files that every later skvae must load: see test_skops.py and test_persistence.py.

Run once per format version, never to refresh an existing version's files:
``OMP_NUM_THREADS=1 python tests/data/make_v1_files.py``.
"""

from pathlib import Path


def main():
    import numpy as np
    import skops.io
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import skvae
    from skvae import VAEOutlierDetector

    here = Path(__file__).parent
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 2)) @ rng.normal(size=(2, 4)) + 0.1 * rng.normal(size=(40, 4))
    params = {"n_components": 2, "hidden_layer_sizes": (6,), "max_iter": 3, "n_importance_samples": 4}
    pipeline = make_pipeline(StandardScaler(), VAEOutlierDetector(**params, random_state=0)).fit(X)
    detector = VAEOutlierDetector(**params, random_state=1).fit(X)
    skops.io.dump(pipeline, here / "v1_pipeline.skops")
    skvae.save(detector, here / "v1_detector.skvae")
    np.savez(
        here / "v1_expected.npz",
        X=X,
        pipeline_scores=pipeline.score_samples(X),
        detector_scores=detector.score_samples(X),
    )


if __name__ == "__main__":
    main()
