#!/usr/bin/env bash
# The README's test command (every test of the workspace, all features),
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
python3 scripts/services-summary.py "$report"
exit "$status"
