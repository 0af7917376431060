"""Register a trained MLflow model as the next version of a Model asset of the workspace.

Inside an Azure ML job, MLflow's tracking and registry URIs point at the workspace, so the
model is logged to this step's run and registered from there, which records its lineage.
"""

import argparse
from pathlib import Path

import mlflow


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, required=True, help="folder of the MLflow model to register")
    parser.add_argument("--model-name", required=True, help="name of the Model asset")
    args = parser.parse_args()

    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(args.model), artifact_path="model")
        version = mlflow.register_model(f"runs:/{run.info.run_id}/model", args.model_name)
    print(f"registered {args.model_name} version {version.version}")


if __name__ == "__main__":
    main()
