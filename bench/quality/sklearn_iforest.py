"""Reference scores for the quality benchmark: scikit-learn's IsolationForest
and the other peers (isotree, pyod) on the feature matrices our featurization
exported, and sklearn's metrics for every detector's scores, ours included.

Reads a manifest (JSON) naming raw little-endian float64 matrices, our test
scores (one file per forest size) and the test labels (uint8); writes one
JSON object with, per run, ROC-AUC (roc_auc_score) and PR-AUC
(average_precision_score), attack = positive, for each of our forests and
each peer, with the peers' fit and score times (one thread, milliseconds).
A run with "peers": "all" gets every peer, otherwise scikit-learn's only.

usage: python sklearn_iforest.py <manifest.json>
"""

import json
import os
import sys
import time
import warnings

import numpy as np
import sklearn
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score

warnings.filterwarnings("ignore")

SKLEARN = "scikit-learn IsolationForest"


def load(directory, name, dtype, columns=None):
    data = np.fromfile(os.path.join(directory, name), dtype=dtype)
    return data if columns is None else data.reshape(-1, columns)


def peers(seed, which):
    """Each peer at its library's defaults, one thread; scores: higher = more abnormal."""

    def sk():
        m = IsolationForest(n_estimators=100, max_samples=256, random_state=seed)
        return m, lambda x: -m.score_samples(x)

    if which != "all":
        return {SKLEARN: sk}

    from isotree import IsolationForest as IsoTree
    from pyod.models.ecod import ECOD
    from pyod.models.hbos import HBOS

    def iso(**kw):
        def make():
            m = IsoTree(nthreads=1, random_seed=seed, **kw)
            return m, m.predict

        return make

    def pyod(cls):
        def make():
            m = cls()
            return m, m.decision_function

        return make

    return {
        SKLEARN: sk,
        "isotree (default)": iso(),
        "isotree ndim=2": iso(ndim=2),
        # The SCiForest configuration of isotree's README.
        "isotree SCiForest": iso(
            ndim=2,
            sample_size=256,
            max_depth=8,
            ntrees=100,
            missing_action="fail",
            coefs="normal",
            ntry=10,
            prob_pick_avg_gain=1,
            penalize_range=True,
        ),
        "pyod ECOD": pyod(ECOD),
        "pyod HBOS": pyod(HBOS),
    }


def metrics(labels, scores):
    return {
        "roc_auc": roc_auc_score(labels, scores),
        "pr_auc": average_precision_score(labels, scores),
    }


def main(path):
    with open(path) as f:
        manifest = json.load(f)
    directory = os.path.dirname(path)
    labels = load(directory, manifest["labels"], "<u1")
    results = []
    for run in manifest["runs"]:
        fit = load(directory, run["fit"], "<f8", run["nFeatures"])
        test = load(directory, run["test"], "<f8", run["nFeatures"])
        assert fit.shape[0] == run["fitRows"] and test.shape[0] == labels.shape[0]
        ours = {}
        for forest in run["ours"]:
            scores = load(directory, forest["file"], "<f8")
            assert scores.shape[0] == labels.shape[0]
            ours[forest["name"]] = metrics(labels, scores)
        theirs = {}
        for name, make in peers(run["seed"], run["peers"]).items():
            model, score = make()
            t0 = time.perf_counter()
            model.fit(fit)
            t1 = time.perf_counter()
            scores = score(test)
            t2 = time.perf_counter()
            theirs[name] = {
                **metrics(labels, scores),
                "fit_ms": (t1 - t0) * 1e3,
                "score_ms": (t2 - t1) * 1e3,
            }
        results.append({"id": run["id"], "ours": ours, "peers": theirs})
        print(f"bench: NSL-KDD: peers done for {run['id']}", file=sys.stderr, flush=True)
    import isotree
    import pyod

    versions = {
        "scikit-learn": sklearn.__version__,
        "isotree": getattr(isotree, "__version__", "0.6.1"),
        "pyod": pyod.__version__,
        "numpy": np.__version__,
    }
    json.dump({"versions": versions, "runs": results}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
