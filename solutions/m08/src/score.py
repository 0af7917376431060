"""Scoring script of the online deployment in module 08: quote a fare for each trip of a request."""

import json
import os
from pathlib import Path

import mlflow
import pandas as pd

FEATURES = ["pickup_zone", "dropoff_zone", "hour", "distance_km"]
model = None


def init() -> None:
    """Load the model once per worker; Azure ML sets AZUREML_MODEL_DIR to the model's folder."""
    global model
    model_dir = Path(os.environ["AZUREML_MODEL_DIR"])
    model = mlflow.pyfunc.load_model(str(next(model_dir.rglob("MLmodel")).parent))


def run(raw_data: str) -> list[float]:
    """Return the fare in dollars of each trip in the request body {"trips": [{...}, ...]}."""
    trips = pd.DataFrame(json.loads(raw_data)["trips"])
    return [round(float(fare), 2) for fare in model.predict(trips[FEATURES])]
