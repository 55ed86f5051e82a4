"""Times Isolation Forest fits of scikit-learn and isotree on the matrix the fit benchmark uses.

Reads META.json ({"matrixPath", "nFeatures"}): a row-major float64 matrix written by
bench/fit-bench.ts. Prints one JSON line with versions and the thread pools threadpoolctl sees
(the caller pins them to one thread), then answers commands, one per stdin line, with one JSON
line each, so the caller can take turns with its own runs:
  fit sklearn TREES PSI SEED   IsolationForest(n_estimators, max_samples, random_state).fit
  fit isotree TREES PSI SEED   isotree.IsolationForest(ntrees, sample_size, ndim=1,
                               nthreads=1, random_seed).fit (its defaults otherwise)
each answering {"seconds": wall, "cpuSeconds": cpu, "nodes": total nodes grown}.
It exits at the end of stdin.

Usage: python bench/fit-peers.py META.json
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


def fit(tool: str, trees: int, psi: int, seed: int, x: np.ndarray) -> dict:
    if tool == "sklearn":
        model = IsolationForest(n_estimators=trees, max_samples=psi, random_state=seed)
    elif tool == "isotree":
        model = IsoTree(ntrees=trees, sample_size=psi, ndim=1, nthreads=1, random_seed=seed)
    else:
        raise ValueError(f"unknown tool {tool!r}")
    start = time.perf_counter()
    cpu_start = time.process_time()
    model.fit(x)
    cpu = time.process_time() - cpu_start
    wall = time.perf_counter() - start
    nodes = (
        sum(e.tree_.node_count for e in model.estimators_) if tool == "sklearn" else None
    )
    return {"seconds": wall, "cpuSeconds": cpu, "nodes": nodes}


def main() -> None:
    with open(sys.argv[1]) as f:
        meta = json.load(f)
    x = np.fromfile(meta["matrixPath"], dtype="<f8").reshape(-1, meta["nFeatures"])
    fit("sklearn", 2, 64, 0, x)  # warm-up: imports, first allocations
    fit("isotree", 2, 64, 0, x)
    reply(
        {
            "rows": len(x),
            "sklearn": sklearn.__version__,
            "isotree": version("isotree"),
            "numpy": np.__version__,
            "python": sys.version.split()[0],
            "threadpools": [
                {k: p.get(k) for k in ("internal_api", "num_threads")} for p in threadpool_info()
            ],
        }
    )
    for line in sys.stdin:
        words = line.split()
        try:
            if len(words) != 5 or words[0] != "fit":
                raise ValueError(f"unknown command {line.strip()!r}")
            reply(fit(words[1], int(words[2]), int(words[3]), int(words[4]), x))
        except Exception as e:  # noqa: BLE001 - reported to the caller, which fails the run
            reply({"error": f"{type(e).__name__}: {e}"})


if __name__ == "__main__":
    main()
