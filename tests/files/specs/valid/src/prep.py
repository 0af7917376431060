"""Split the raw trips folder into train and test folders (corpus stub)."""

import argparse

parser = argparse.ArgumentParser()
parser.add_argument("--raw")
parser.add_argument("--test-share", type=float, default=0.2)
parser.add_argument("--train")
parser.add_argument("--test")
args = parser.parse_args()
print(f"splitting {args.raw}: {args.test_share:.0%} to {args.test}, the rest to {args.train}")
