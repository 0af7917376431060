"""Scoring script of the claims triage deployments: returns the probability that each claim is urgent.

The deployment's data collector stores what the two collectors log as the deployment's
model_inputs and model_outputs, which the model monitor reads as production data.
"""

import json
import os
from pathlib import Path

import mlflow
import pandas as pd
from azureml.ai.monitoring import Collector

model = None
inputs_collector = None
outputs_collector = None


def init():
    """Load the scikit-learn model that Azure ML copied into AZUREML_MODEL_DIR, and the collectors."""
    global model, inputs_collector, outputs_collector
    model_dir = Path(os.environ["AZUREML_MODEL_DIR"])
    model = mlflow.sklearn.load_model(str(next(path.parent for path in model_dir.rglob("MLmodel"))))
    inputs_collector = Collector(name="model_inputs")
    outputs_collector = Collector(name="model_outputs")


def run(raw_data):
    """Return P(urgent) per claim of the request body {"data": [{...}, ...]}."""
    claims = pd.DataFrame(json.loads(raw_data)["data"])
    context = inputs_collector.collect(claims)
    predictions = pd.DataFrame({"urgent_probability": model.predict_proba(claims)[:, 1].round(4)})
    outputs_collector.collect(predictions, context)
    return predictions["urgent_probability"].tolist()
