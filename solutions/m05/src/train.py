"""Train the taxi fare regressor; the command job of module 05 runs this script.

The script reads each Parquet file of the trips folder once, in order, and opens the small
zone table again for every file, as each worker of a parallel loader would.
"""

import argparse
from pathlib import Path

import mlflow
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor

FEATURES = ["pickup_zone", "dropoff_zone", "pickup_airport", "dropoff_airport", "hour", "distance_km"]


def featurise(trip_file: Path, zones_file: Path) -> pd.DataFrame:
    """Read one file of trips and add whether each pickup and drop-off zone is an airport."""
    zones = pd.read_csv(zones_file).set_index("zone_id")
    trips = pd.read_parquet(trip_file)
    trips["pickup_airport"] = trips["pickup_zone"].map(zones["airport"]).astype(int)
    trips["dropoff_airport"] = trips["dropoff_zone"].map(zones["airport"]).astype(int)
    return trips


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trips", type=Path, required=True, help="folder of Parquet files of trips")
    parser.add_argument("--zones", type=Path, required=True, help="CSV file of taxi zones with the columns zone_id, borough, airport")
    parser.add_argument("--model", type=Path, required=True, help="folder to save the MLflow model in")
    args = parser.parse_args()

    trips = pd.concat(featurise(path, args.zones) for path in sorted(args.trips.glob("*.parquet")))
    model = HistGradientBoostingRegressor().fit(trips[FEATURES], trips["fare"])

    mlflow.log_metric("train_rows", len(trips))
    mlflow.sklearn.save_model(model, args.model)


if __name__ == "__main__":
    main()
