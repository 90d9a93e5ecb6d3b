#!/usr/bin/env python3
"""Print the throughput ratio of two criterion benchmarks of one group.

usage: bench_ratio.py GROUP SUBJECT BASELINE [--target-dir DIR]

Reads criterion's estimates (mean time per iteration) from
DIR/criterion/GROUP/{SUBJECT,BASELINE}/new/estimates.json and prints
both times and SUBJECT's throughput relative to BASELINE (baseline time
divided by subject time: above 1 means the subject is faster).
"""
import json
import os
import sys


def mean_ns(root, group, name):
    path = os.path.join(root, "criterion", group, name, "new", "estimates.json")
    with open(path) as f:
        return json.load(f)["mean"]["point_estimate"]


def main():
    args = sys.argv[1:]
    target = os.environ.get("CARGO_TARGET_DIR", "target")
    if "--target-dir" in args:
        i = args.index("--target-dir")
        target = args[i + 1]
        del args[i : i + 2]
    if len(args) != 3:
        sys.exit(__doc__)
    group, subject, baseline = args
    s = mean_ns(target, group, subject)
    b = mean_ns(target, group, baseline)
    print(f"{group}: {subject} {s / 1000:.1f} µs/iter, {baseline} {b / 1000:.1f} µs/iter, ratio {b / s:.2f}x")


if __name__ == "__main__":
    main()
