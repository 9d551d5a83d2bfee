#!/usr/bin/env bash
# Smoke test of the Python wheel (the `pipx install dimctl` / `uvx dimctl` channel):
#   1. build the wheel with maturin (a release build: the profile in Cargo.toml),
#   2. install it into a fresh virtualenv, offline, from the file alone,
#   3. run `dimctl --version` and a plan of examples/ against a fresh sandbox,
# and print the binary's and the wheel's sizes and the time from creating the virtualenv
# to the first plan. Too slow for `cargo test` and `.ci/run` (it is a release build); run it
# before a release:  scripts/wheel-smoke.sh
# Needs python3 (3.8+). maturin (pinned below) is installed into target/wheel-smoke/.
set -euo pipefail
cd "$(dirname "$0")/.."

MATURIN_VERSION=1.16.0
work=target/wheel-smoke
rm -rf "$work/dist" "$work/venv" "$work/state.json"
mkdir -p "$work"

now() { python3 -c 'import time; print(time.monotonic())'; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$2"; }

echo "== maturin $MATURIN_VERSION (build tool, in $work/tools)"
if ! "$work/tools/bin/maturin" --version 2>/dev/null | grep -q "$MATURIN_VERSION"; then
  python3 -m venv "$work/tools"
  "$work/tools/bin/pip" install --quiet "maturin==$MATURIN_VERSION"
fi

echo "== build the wheel (release profile)"
t0=$(now)
"$work/tools/bin/maturin" build --release --locked --out "$work/dist"
t1=$(now)
wheel=$(ls "$work"/dist/dimctl-*.whl)
echo "built $wheel in $(elapsed "$t0" "$t1") s"

echo "== fresh virtualenv, install the wheel (offline), first plan"
t2=$(now)
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --no-index --no-deps "$wheel"
"$work/venv/bin/dimctl" --version
set +e
NO_COLOR=1 "$work/venv/bin/dimctl" plan examples/ --sandbox "$work/state.json" --detailed-exitcode
code=$?
set -e
t3=$(now)
# An empty sandbox: every example is a create, so the plan has changes (exit 2).
if [ "$code" -ne 2 ]; then
  echo "wheel-smoke: FAILED: the plan of examples/ exited $code, expected 2 (changes)" >&2
  exit 1
fi

size() { wc -c < "$1" | tr -d ' '; }
echo "== figures"
echo "release binary (target/release/dimctl): $(size target/release/dimctl) bytes"
echo "installed binary ($work/venv/bin/dimctl): $(size "$work/venv/bin/dimctl") bytes"
echo "wheel $(basename "$wheel"): $(size "$wheel") bytes"
echo "fresh virtualenv -> wheel installed -> first plan: $(elapsed "$t2" "$t3") s"
echo "wheel-smoke: OK"
