"""Scoring script of the fare deployments: loads the MLflow model and quotes a fare per trip."""

import json
import os
from pathlib import Path

import mlflow
import pandas as pd

model = None


def init():
    """Load the model that Azure ML copied into AZUREML_MODEL_DIR when the deployment started."""
    global model
    model_dir = Path(os.environ["AZUREML_MODEL_DIR"])
    # A registered MLflow model is one folder inside the model directory.
    model = mlflow.pyfunc.load_model(str(next(path.parent for path in model_dir.rglob("MLmodel"))))


def run(raw_data):
    """Return one fare in dollars per trip of the request body {"data": [{...}, ...]}."""
    trips = pd.DataFrame(json.loads(raw_data)["data"])
    return [round(float(fare), 2) for fare in model.predict(trips)]
