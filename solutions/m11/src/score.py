"""Scoring script of the private fare endpoint: adds the rain forecast to each trip, then quotes a fare.

The weather service's key arrives in the environment variable WEATHER_API_KEY. Azure ML reads
it from Key Vault with the endpoint's identity when the deployment starts, so the key never
appears in code, in the deployment spec or in the image.
"""

import json
import os
from pathlib import Path

import mlflow
import pandas as pd
import requests

model = None
session = None


def init():
    """Load the MLflow model and prepare an HTTP session that sends the weather service's key."""
    global model, session
    model_dir = Path(os.environ["AZUREML_MODEL_DIR"])
    model = mlflow.pyfunc.load_model(str(next(path.parent for path in model_dir.rglob("MLmodel"))))
    session = requests.Session()
    session.headers["x-api-key"] = os.environ["WEATHER_API_KEY"]


def run(raw_data):
    """Return one fare in dollars per trip of the request body {"data": [{...}, ...]}."""
    trips = pd.DataFrame(json.loads(raw_data)["data"])
    forecast = session.get(os.environ["WEATHER_API_URL"], params={"hours": 2}, timeout=2).json()
    trips["rain_mm"] = forecast["rain_mm"]
    return [round(float(fare), 2) for fare in model.predict(trips)]
