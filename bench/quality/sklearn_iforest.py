"""Reference scores for the quality benchmark: scikit-learn's IsolationForest
on the feature matrices our featurization exported, and sklearn's metrics for
both forests' scores.

Reads a manifest (JSON) naming raw little-endian float64 matrices, our test
scores and the test labels (uint8); writes one JSON object with, per run,
ROC-AUC (roc_auc_score) and PR-AUC (average_precision_score), attack =
positive, for "ours" and "sklearn".

usage: python sklearn_iforest.py <manifest.json>
"""

import json
import os
import sys

import numpy as np
import sklearn
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score


def load(directory, name, dtype, columns=None):
    data = np.fromfile(os.path.join(directory, name), dtype=dtype)
    return data if columns is None else data.reshape(-1, columns)


def main(path):
    with open(path) as f:
        manifest = json.load(f)
    directory = os.path.dirname(path)
    labels = load(directory, manifest["labels"], "<u1")
    results = []
    for run in manifest["runs"]:
        fit = load(directory, run["fit"], "<f8", run["nFeatures"])
        test = load(directory, run["test"], "<f8", run["nFeatures"])
        ours = load(directory, run["ours"], "<f8")
        assert fit.shape[0] == run["fitRows"] and test.shape[0] == labels.shape[0] == ours.shape[0]
        forest = IsolationForest(n_estimators=100, max_samples=256, random_state=run["seed"])
        forest.fit(fit)
        # score_samples is the negated paper score: lower = more abnormal.
        theirs = -forest.score_samples(test)
        results.append(
            {
                "id": run["id"],
                "ours": {
                    "roc_auc": roc_auc_score(labels, ours),
                    "pr_auc": average_precision_score(labels, ours),
                },
                "sklearn": {
                    "roc_auc": roc_auc_score(labels, theirs),
                    "pr_auc": average_precision_score(labels, theirs),
                },
            }
        )
    json.dump({"sklearn_version": sklearn.__version__, "numpy_version": np.__version__, "runs": results}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
