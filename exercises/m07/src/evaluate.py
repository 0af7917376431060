"""Score a fare model on the test trips and write a report; the evaluate_fare_model component runs this script."""

import argparse
import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

FEATURES = ["pickup_zone", "dropoff_zone", "hour", "distance_km"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, required=True, help="folder of the MLflow model to evaluate")
    parser.add_argument("--test-data", type=Path, required=True, help="folder of Parquet files of test trips")
    parser.add_argument("--max-rmse", type=float, required=True, help="largest test RMSE, in dollars, at which the model passes")
    parser.add_argument("--report", type=Path, required=True, help="folder to write report.json to")
    args = parser.parse_args()

    model = mlflow.pyfunc.load_model(str(args.model))
    trips = pd.concat(pd.read_parquet(path) for path in sorted(args.test_data.glob("*.parquet")))
    rmse = float(np.sqrt(np.mean((model.predict(trips[FEATURES]) - trips["fare"]) ** 2)))

    mlflow.log_metric("test_rmse", rmse)
    args.report.mkdir(parents=True, exist_ok=True)
    report = {"test_rmse": rmse, "max_rmse": args.max_rmse, "passed": rmse <= args.max_rmse}
    (args.report / "report.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
