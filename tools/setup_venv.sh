#!/usr/bin/env bash
# Create (once) the Python virtual environment used by tools/reference_logits.py and bench/tagger.
# Location overridable with IMGTAG_TOOLS_VENV; packages pinned in tools/requirements.txt.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${IMGTAG_TOOLS_VENV:-/tmp/imgtag-tools-venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if ! cmp -s "$here/requirements.txt" "$venv/.requirements.txt" 2>/dev/null; then
  "$venv/bin/pip" install -q -r "$here/requirements.txt"
  cp "$here/requirements.txt" "$venv/.requirements.txt"
fi
echo "$venv"
