"""Times scikit-learn's IsolationForest.score_samples on the matrix the engine benchmark scores.

Reads two row-major float64 matrices written by bench/engine-bench.ts (the training rows and the
rows to score), fits IsolationForest(n_estimators, max_samples, random_state=42) on the training
rows, and times score_samples on the scoring rows `repeats` times after one warm-up. Prints one
JSON object: rows per second (wall and CPU) per repeat, versions, and the thread pools threadpoolctl sees (the caller
pins them to one thread with OMP_NUM_THREADS=1 and friends).

Usage: python bench/sklearn-score.py META.json
"""

import json
import sys
import time

import numpy as np
import sklearn
from sklearn.ensemble import IsolationForest
from threadpoolctl import threadpool_info


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
    rates = []
    cpu_rates = []
    for _ in range(meta["repeats"]):
        start = time.perf_counter()
        cpu_start = time.process_time()
        forest.score_samples(rows)
        cpu_rates.append(len(rows) / (time.process_time() - cpu_start))
        rates.append(len(rows) / (time.perf_counter() - start))
    single = []
    one = rows[:1]
    for _ in range(200):
        start = time.perf_counter()
        forest.score_samples(one)
        single.append(time.perf_counter() - start)
    print(
        json.dumps(
            {
                "rowsPerSecond": rates,
                "rowsPerCpuSecond": cpu_rates,
                "singleRowSeconds": float(np.median(single)),
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
    )


if __name__ == "__main__":
    main()
