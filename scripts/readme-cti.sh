#!/usr/bin/env bash
# Runs every `cti` shell block of the README, as written, against a
# running crm-demo.
#
#   bash scripts/readme-cti.sh DEMO_LOG CTI_BIN
#
# DEMO_LOG is crm-demo's standard output (its `export …` line gives the
# values the blocks use); CTI_BIN the `cti` binary. A block is a ```sh
# fence that runs `cti` and no `cargo`; each runs with `bash -euo
# pipefail` in a scratch folder, and any failure fails the script.
set -euo pipefail
log="$1"
bin="$2"
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir "$work/bin"
ln -s "$(realpath "$bin")" "$work/bin/cti"
# The export line (and its continuation) crm-demo prints.
exports="$(sed -n '/^  export /,/CRM_PASSWORD/p' "$log" | tr -d '\\\n')"
[ -n "$exports" ] || { echo "no export line in $log" >&2; exit 1; }
python3 - "$root/README.md" "$work" <<'PY'
import pathlib, re, sys
text = pathlib.Path(sys.argv[1]).read_text()
out = pathlib.Path(sys.argv[2])
n = 0
for block in re.findall(r"^```sh\n(.*?)^```", text, flags=re.S | re.M):
    if re.search(r"(^|[\s$(|])cti ", block) and "cargo " not in block:
        n += 1
        (out / f"block{n:02}.sh").write_text(block)
print(f"{n} README blocks run cti")
PY
cd "$work"
for block in "$work"/block*.sh; do
  echo "-- $(basename "$block")"
  PATH="$work/bin:$PATH" bash -euo pipefail -c "$exports; source '$block'" > "$work/out.txt" 2>&1 || {
    cat "$work/out.txt"
    echo "README block $(basename "$block") failed:" >&2
    cat "$block" >&2
    exit 1
  }
done
echo "every README cti block ran"
