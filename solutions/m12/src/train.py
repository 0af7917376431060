"""Train the claims triage classifier, log its AUC on the test claims and save it as an MLflow model."""

import argparse
from pathlib import Path

import mlflow
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OrdinalEncoder

CATEGORICAL = ["channel", "region"]
NUMERICAL = ["claim_amount", "policy_age_days", "prior_claims"]


def build_model():
    """Encode the categorical columns inside the model, so that the scoring script passes raw claims."""
    # The encoder puts the categorical columns first; a category unseen in training becomes -1,
    # which the classifier treats as missing.
    encode = ColumnTransformer(
        [("categories", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), CATEGORICAL)],
        remainder="passthrough",
    )
    classifier = HistGradientBoostingClassifier(categorical_features=list(range(len(CATEGORICAL))))
    return make_pipeline(encode, classifier)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train", type=Path, required=True, help="folder of training claims")
    parser.add_argument("--test", type=Path, required=True, help="folder of test claims")
    parser.add_argument("--model", type=Path, required=True, help="folder to save the MLflow model in")
    args = parser.parse_args()

    train = pd.read_parquet(args.train)
    test = pd.read_parquet(args.test)
    model = build_model().fit(train[CATEGORICAL + NUMERICAL], train["urgent"])

    test_scores = model.predict_proba(test[CATEGORICAL + NUMERICAL])[:, 1]
    mlflow.log_metric("test_auc", roc_auc_score(test["urgent"], test_scores))
    mlflow.sklearn.save_model(model, args.model)


if __name__ == "__main__":
    main()
