"""Peers on the living-off-the-land set: scikit-learn IsolationForest, isotree
(default and ndim=2) and pyod ECOD, each on two matrices: our feature matrix
and a plain recipe. Reads a manifest of CSV matrices, prints one JSON object
of scores (higher = more anomalous) per run on stdout."""
import json
import sys
import warnings

import numpy as np

warnings.filterwarnings("ignore")


def load(path):
    return np.loadtxt(path, delimiter=",", ndmin=2)


def peers(seed):
    from sklearn.ensemble import IsolationForest
    from isotree import IsolationForest as IsoTree
    from pyod.models.ecod import ECOD

    def sk(train, test):
        m = IsolationForest(n_estimators=100, max_samples=256, random_state=seed).fit(train)
        return -m.score_samples(test)

    def iso(ndim):
        def run(train, test):
            m = IsoTree(ndim=ndim, nthreads=1, random_seed=seed).fit(train)
            return m.predict(test)
        return run

    def ecod(train, test):
        m = ECOD().fit(train)
        return m.decision_function(test)

    return {
        "scikit-learn IsolationForest": sk,
        "isotree (default, ndim=1)": iso(1),
        "isotree ndim=2": iso(2),
        "pyod ECOD": ecod,
    }


def main():
    manifest = json.load(open(sys.argv[1]))
    import sklearn, isotree, pyod  # noqa: E401

    out = {"versions": {"scikit-learn": sklearn.__version__, "pyod": pyod.__version__,
                        "isotree": getattr(isotree, "__version__", "0.6.1")}, "runs": []}
    for run in manifest["runs"]:
        train = load(run["train"])
        test = load(run["test"])
        for name, fn in peers(run["seed"]).items():
            scores = fn(train, test)
            out["runs"].append({"id": run["id"], "peer": name, "scores": [float(x) for x in scores]})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
