"""Train the fare regressor on prepared trips; the train step of the module 07 pipeline runs this script."""

import argparse
from pathlib import Path

import mlflow
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor

FEATURES = ["pickup_zone", "dropoff_zone", "hour", "distance_km"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train-data", type=Path, required=True, help="folder of Parquet files of training trips")
    parser.add_argument("--learning-rate", type=float, required=True, help="shrinkage of each boosting iteration")
    parser.add_argument("--model", type=Path, required=True, help="folder to save the MLflow model in")
    args = parser.parse_args()

    trips = pd.concat(pd.read_parquet(path) for path in sorted(args.train_data.glob("*.parquet")))
    model = HistGradientBoostingRegressor(learning_rate=args.learning_rate).fit(trips[FEATURES], trips["fare"])

    mlflow.log_metric("train_rows", len(trips))
    mlflow.sklearn.save_model(model, args.model)


if __name__ == "__main__":
    main()
