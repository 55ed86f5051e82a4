"""Times big-forest scoring by scikit-learn and isotree on the matrices the engine benchmark uses.

Reads META.json ({"trainPath", "rowsPath", "nFeatures", "trees", "psi", "seed", "threads"}):
two row-major float64 matrices written by bench/big-forest-bench.ts. Fits
sklearn.ensemble.IsolationForest(n_estimators=trees, max_samples=psi) and
isotree.IsolationForest(ntrees=trees, sample_size=psi, ndim=1, nthreads=threads) (its defaults
otherwise; its depth limit is ceil(log2(psi)), as scikit-learn's and ours) on the training rows,
warms both up on 1,000 rows, and prints one JSON line with versions, node counts and the thread
pools threadpoolctl sees (the caller pins them to one thread; isotree's `nthreads` is its own).

Then it answers commands, one per stdin line, with one JSON line each, so the caller can take
turns with its own runs (one side idle while another is timed):
  score sklearn   times score_samples on all the rows (one thread)
  score isotree   times predict on all the rows (nthreads threads)
each answering {"rowsPerSecond": wall, "rowsPerCpuSecond": cpu}. It exits at the end of stdin.

Usage: python bench/score-peers.py META.json
"""

import json
import sys
import time

from importlib.metadata import version
import numpy as np
import sklearn
from isotree import IsolationForest as IsoTree
from sklearn.ensemble import IsolationForest
from threadpoolctl import threadpool_info


def reply(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main() -> None:
    with open(sys.argv[1]) as f:
        meta = json.load(f)
    nf = meta["nFeatures"]
    train = np.fromfile(meta["trainPath"], dtype="<f8").reshape(-1, nf)
    rows = np.fromfile(meta["rowsPath"], dtype="<f8").reshape(-1, nf)
    trees, psi, seed = meta["trees"], meta["psi"], meta["seed"]
    sk = IsolationForest(n_estimators=trees, max_samples=psi, random_state=seed).fit(train)
    iso = IsoTree(
        ntrees=trees, sample_size=psi, ndim=1, nthreads=meta["threads"], random_seed=seed
    ).fit(train)
    score = {"sklearn": sk.score_samples, "isotree": iso.predict}
    for f in score.values():
        f(rows[:1000])  # warm-up
    reply(
        {
            "rows": len(rows),
            "trainRows": len(train),
            "sklearn": sklearn.__version__,
            "isotree": version("isotree"),
            "numpy": np.__version__,
            "python": sys.version.split()[0],
            "sklearnNodes": sum(e.tree_.node_count for e in sk.estimators_),
            "sklearnMaxDepth": max(e.tree_.max_depth for e in sk.estimators_),
            "threadpools": [
                {k: p.get(k) for k in ("internal_api", "num_threads")} for p in threadpool_info()
            ],
        }
    )
    for line in sys.stdin:
        words = line.split()
        if len(words) != 2 or words[0] != "score" or words[1] not in score:
            reply({"error": f"unknown command {line.strip()!r}"})
            continue
        start = time.perf_counter()
        cpu_start = time.process_time()
        score[words[1]](rows)
        cpu = time.process_time() - cpu_start
        wall = time.perf_counter() - start
        reply({"rowsPerSecond": len(rows) / wall, "rowsPerCpuSecond": len(rows) / cpu})


if __name__ == "__main__":
    main()
