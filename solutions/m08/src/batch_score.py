"""Scoring script of the batch deployment in module 08: quote a fare for every planned trip of a mini-batch of files."""

import os
from pathlib import Path

import mlflow
import pandas as pd

FEATURES = ["pickup_zone", "dropoff_zone", "hour", "distance_km"]
model = None


def init() -> None:
    """Load the model once per worker process; Azure ML sets AZUREML_MODEL_DIR to the model's folder."""
    global model
    model_dir = Path(os.environ["AZUREML_MODEL_DIR"])
    model = mlflow.pyfunc.load_model(str(next(model_dir.rglob("MLmodel")).parent))


def run(mini_batch: list[str]) -> pd.DataFrame:
    """Score the CSV files of one mini-batch; with output_action append_row, the rows go to the output file."""
    parts = []
    for path in mini_batch:
        trips = pd.read_csv(path)
        parts.append(pd.DataFrame({"file": Path(path).name, "trip_id": trips["trip_id"], "fare": model.predict(trips[FEATURES])}))
    return pd.concat(parts, ignore_index=True)
