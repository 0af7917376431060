"""Train one trial of the fare regressor sweep; the sweep job of module 06 runs this script.

The model grows in stages of 20 boosting iterations, and after each stage the script logs
the validation RMSE as `val_rmse`. Each logged value is one interval of the sweep's
early-termination policy.
"""

import argparse
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import train_test_split

FEATURES = ["pickup_zone", "dropoff_zone", "hour", "distance_km"]
STAGES = 15
ITERATIONS_PER_STAGE = 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trips", type=Path, required=True, help="folder of Parquet files of trips")
    parser.add_argument("--learning-rate", type=float, required=True, help="shrinkage of each boosting iteration")
    parser.add_argument("--max-depth", type=int, required=True, help="maximum depth of each tree")
    parser.add_argument("--l2-regularization", type=float, required=True, help="L2 penalty on the leaf values")
    parser.add_argument("--model", type=Path, required=True, help="folder to save the MLflow model in")
    args = parser.parse_args()

    trips = pd.concat(pd.read_parquet(path) for path in sorted(args.trips.glob("*.parquet")))
    x_train, x_val, y_train, y_val = train_test_split(trips[FEATURES], trips["fare"], test_size=0.2, random_state=0)

    model = HistGradientBoostingRegressor(
        learning_rate=args.learning_rate,
        max_depth=args.max_depth,
        l2_regularization=args.l2_regularization,
        early_stopping=False,
        warm_start=True,
    )
    for stage in range(1, STAGES + 1):
        model.set_params(max_iter=stage * ITERATIONS_PER_STAGE)
        model.fit(x_train, y_train)
        val_rmse = float(np.sqrt(np.mean((model.predict(x_val) - y_val) ** 2)))
        mlflow.log_metric("val_rmse", val_rmse, step=stage)

    mlflow.sklearn.save_model(model, args.model)


if __name__ == "__main__":
    main()
