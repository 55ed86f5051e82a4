"""Times scikit-learn's IsolationForest.score_samples on the matrix the engine benchmark scores.

Reads two row-major float64 matrices written by bench/engine-bench.ts (the training rows and the
rows to score), fits IsolationForest(n_estimators, max_samples, random_state=42) on the training
rows, scores 1,000 rows once to warm up, and prints one JSON line: versions, and the thread pools
threadpoolctl sees (the caller pins them to one thread with OMP_NUM_THREADS=1 and friends).

Then it answers commands, one per stdin line, with one JSON line each, so the caller can take
turns with its own runs (one side idle while the other is timed):
  batch   times score_samples on all the rows: {"rowsPerSecond": wall, "rowsPerCpuSecond": cpu}
  single  times score_samples on one row 200 times: {"singleRowSeconds": median}
It exits at the end of stdin.

Usage: python bench/sklearn-score.py META.json
"""

import json
import sys
import time

import numpy as np
import sklearn
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
    forest = IsolationForest(
        n_estimators=meta["nEstimators"], max_samples=meta["maxSamples"], random_state=42
    ).fit(train)
    forest.score_samples(rows[:1000])  # warm-up
    reply(
        {
            "rows": len(rows),
            "trainRows": len(train),
            "sklearn": sklearn.__version__,
            "numpy": np.__version__,
            "python": sys.version.split()[0],
            "threadpools": [
                {k: p.get(k) for k in ("internal_api", "num_threads", "architecture")}
                for p in threadpool_info()
            ],
        }
    )
    for line in sys.stdin:
        command = line.strip()
        if command == "batch":
            start = time.perf_counter()
            cpu_start = time.process_time()
            forest.score_samples(rows)
            cpu = time.process_time() - cpu_start
            wall = time.perf_counter() - start
            reply({"rowsPerSecond": len(rows) / wall, "rowsPerCpuSecond": len(rows) / cpu})
        elif command == "single":
            one = rows[:1]
            single = []
            for _ in range(200):
                start = time.perf_counter()
                forest.score_samples(one)
                single.append(time.perf_counter() - start)
            reply({"singleRowSeconds": float(np.median(single))})
        else:
            reply({"error": f"unknown command {command!r}"})


if __name__ == "__main__":
    main()
