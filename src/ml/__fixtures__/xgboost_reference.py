# Trains XGBoost's `hist` learner on a matrix written by the Kairos tests or benchmark, and writes its test margins.
#
#   /usr/bin/python3 xgboost_reference.py SPEC.json
#
# SPEC: {"features": path of float32 little-endian rows x cols, row-major, NaN = missing,
#        "labels": path of float64 labels (one per row), "rows": n, "cols": p, "train": number of leading rows to train on,
#        "params": XGBoost parameters, "rounds": boosting rounds, "margins": path to write float64 margins of the other rows}
# Prints one JSON line: the XGBoost version, the training seconds (DMatrix construction included, as it bins), the CPU
# seconds of the process meanwhile (all threads) and its peak RSS.
import json
import resource
import sys
import time

import numpy as np
import xgboost as xgb


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = json.load(f)
    rows, cols, n_train = spec["rows"], spec["cols"], spec["train"]
    features = np.fromfile(spec["features"], dtype="<f4").reshape(rows, cols)
    labels = np.fromfile(spec["labels"], dtype="<f8")
    cpu_started = time.process_time()
    started = time.perf_counter()
    dtrain = xgb.DMatrix(features[:n_train], label=labels[:n_train], missing=np.nan, nthread=spec["params"].get("nthread", 0))
    booster = xgb.train(spec["params"], dtrain, num_boost_round=spec["rounds"])
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    dtest = xgb.DMatrix(features[n_train:], missing=np.nan)
    margins = booster.predict(dtest, output_margin=True).astype("<f8")
    margins.tofile(spec["margins"])
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"xgboost": xgb.__version__, "seconds": seconds, "cpuSeconds": cpu_seconds, "peakMb": peak_mb}))


if __name__ == "__main__":
    main()
