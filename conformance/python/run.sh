#!/usr/bin/env bash
# Python conformance suite: official AWS (boto3), Vault (hvac) and Azure (azure-*) clients against the emulator.
# Builds nothing: the emulator binary comes from $SECRETBENCH_EMULATORS_BIN.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${SECRETBENCH_EMULATORS_BIN:?set SECRETBENCH_EMULATORS_BIN to the secretbench-emulators binary}"
venv="${XDG_CACHE_HOME:-$HOME/.cache}/secretbench/venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    "$venv/bin/python" -m pip install -q -r "$here/requirements.txt"
    echo "$want" >"$stamp"
fi
cd "$here"
export SECRETBENCH_EMULATORS_BIN
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider "$@" tests
