"""Drop invalid trips and split the rest into training and test folders; the prep_trips component runs this script."""

import argparse
from pathlib import Path

import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--raw-trips", type=Path, required=True, help="folder of Parquet files of raw trips")
    parser.add_argument("--test-share", type=float, required=True, help="share of the trips to hold out for testing, in (0, 1)")
    parser.add_argument("--train-data", type=Path, required=True, help="folder to write the training trips to")
    parser.add_argument("--test-data", type=Path, required=True, help="folder to write the test trips to")
    args = parser.parse_args()

    trips = pd.concat(pd.read_parquet(path) for path in sorted(args.raw_trips.glob("*.parquet")))
    trips = trips[(trips["fare"] > 0) & (trips["distance_km"] > 0)]
    test = trips.sample(frac=args.test_share, random_state=0)
    train = trips.drop(test.index)

    for folder, part in ((args.train_data, train), (args.test_data, test)):
        folder.mkdir(parents=True, exist_ok=True)
        part.to_parquet(folder / "trips.parquet")


if __name__ == "__main__":
    main()
