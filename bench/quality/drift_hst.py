"""River's HalfSpaceTrees on the drift stream: the online peer of `--learn`.
Reads a warm-up matrix (the history the frozen model was trained on) and the
stream matrix (CSV, our feature matrix), learns the warm-up with River's
default trees (10 trees of height 8, window 250), then for each
stream row scores it and then learns it (test-then-train), with an online
MinMaxScaler in front as River's docs recommend. Prints one JSON object:
the river version, the warm-up scores of its second half (for calibrating
a threshold) and the stream scores (higher = more anomalous)."""
import json
import sys

import numpy as np


def main():
    warmup = np.loadtxt(sys.argv[1], delimiter=",", ndmin=2)
    stream = np.loadtxt(sys.argv[2], delimiter=",", ndmin=2)
    seed = int(sys.argv[3])
    import river
    from river import anomaly, compose, preprocessing

    model = compose.Pipeline(
        preprocessing.MinMaxScaler(),
        anomaly.HalfSpaceTrees(seed=seed),
    )
    names = [f"f{i}" for i in range(warmup.shape[1])]
    calib = []
    half = len(warmup) // 2
    for i, row in enumerate(warmup):
        x = dict(zip(names, row.tolist()))
        if i >= half:
            calib.append(model.score_one(x))
        model.learn_one(x)
    scores = []
    for row in stream:
        x = dict(zip(names, row.tolist()))
        scores.append(model.score_one(x))
        model.learn_one(x)
    json.dump({"version": river.__version__, "calibration": calib, "scores": scores}, sys.stdout)


if __name__ == "__main__":
    main()
