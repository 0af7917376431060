"""Train a fare regressor on the taxi trips folder and save it as an MLflow model (corpus stub)."""

import argparse

parser = argparse.ArgumentParser()
parser.add_argument("--trips")
parser.add_argument("--learning-rate", type=float, default=0.1)
parser.add_argument("--model")
args = parser.parse_args()
print(f"training on {args.trips} with learning rate {args.learning_rate}, saving to {args.model}")
