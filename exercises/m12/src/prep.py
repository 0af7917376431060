"""Split a folder of claims into train and test sets that keep the share of urgent claims."""

import argparse
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--raw", type=Path, required=True, help="folder of Parquet files of claims")
    parser.add_argument("--test-share", type=float, default=0.2, help="share of claims held out for testing")
    parser.add_argument("--train", type=Path, required=True, help="folder to write the training claims to")
    parser.add_argument("--test", type=Path, required=True, help="folder to write the test claims to")
    args = parser.parse_args()

    claims = pd.concat(pd.read_parquet(path) for path in sorted(args.raw.glob("*.parquet")))
    train, test = train_test_split(claims, test_size=args.test_share, stratify=claims["urgent"], random_state=0)
    for folder, part in ((args.train, train), (args.test, test)):
        folder.mkdir(parents=True, exist_ok=True)
        part.to_parquet(folder / "claims.parquet")


if __name__ == "__main__":
    main()
