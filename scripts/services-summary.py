#!/usr/bin/env python3
"""What the service-bound tests did, from the file CTI_SERVICE_REPORT named
during the run (tests/support/services.rs writes it): per service, how
many tests ran against it, and each that skipped, with why.

    python3 scripts/services-summary.py REPORT
"""
import collections
import pathlib
import sys

ran, skipped = collections.defaultdict(set), collections.defaultdict(dict)
report = pathlib.Path(sys.argv[1])
lines = report.read_text(encoding="utf-8", errors="replace").splitlines() if report.exists() else []
for line in lines:
    parts = line.split("\t")
    if len(parts) != 4:
        continue
    outcome, service, test, why = parts
    if outcome == "ran":
        ran[service].add(test)
    else:
        skipped[service][test] = why
print("\nservice-bound tests:")
services = sorted(set(ran) | set(skipped))
if not services:
    print("  none reported (were the tests filtered out, or did the build fail?)")
for service in services:
    print(f"  {service}: {len(ran[service])} ran, {len(skipped[service])} skipped")
    for test, why in sorted(skipped[service].items()):
        print(f"    SKIPPED {test}: {why}")
