#!/usr/bin/env bash
# The README's test command: every test of the workspace, all features,
# closing with what the service-bound tests did.
#
#   bash scripts/test.sh [more cargo test arguments]
#
# Runs `cargo test --workspace --all-features`, then prints which tests
# that need a real service (Redis, SFTP, SMTP, Chromium) ran against it
# and which skipped, and why. Under CI=true or CTI_REQUIRE_SERVICES=1 a
# missing service fails its test instead of skipping.
set -uo pipefail
cd "$(dirname "$0")/.."
report="$(mktemp)"
trap 'rm -f "$report"' EXIT
export CTI_SERVICE_REPORT="$report"
cargo test --workspace --all-features "$@"
status=$?
python3 - "$report" <<'PY'
import collections, sys
ran, skipped = collections.defaultdict(set), collections.defaultdict(dict)
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    parts = line.rstrip("\n").split("\t")
    if len(parts) != 4:
        continue
    outcome, service, test, why = parts
    (ran[service].add(test) if outcome == "ran" else skipped[service].__setitem__(test, why))
print("\nservice-bound tests:")
services = sorted(set(ran) | set(skipped))
if not services:
    print("  none reported (were the tests filtered out, or did the build fail?)")
for service in services:
    print(f"  {service}: {len(ran[service])} ran, {len(skipped[service])} skipped")
    for test, why in sorted(skipped[service].items()):
        print(f"    SKIPPED {test}: {why}")
PY
exit "$status"
