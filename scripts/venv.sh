# Sourced by run.sh and test.sh: make .venv and install the pinned requirements once
# per change of the requirements files.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REQUIREMENTS=${1:-requirements.txt}
PYTHON_BIN=${PYTHON:-}
if [ -z "$PYTHON_BIN" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then PYTHON_BIN=$candidate; break; fi
  done
fi
if [ ! -x .venv/bin/python ]; then
  echo "Creating the virtual environment (.venv) with $PYTHON_BIN"
  "$PYTHON_BIN" -m venv .venv
fi
stamp=".venv/.installed-$(cat requirements*.txt | sha256sum | cut -c1-16)-$(basename "$REQUIREMENTS" .txt)"
if [ ! -f "$stamp" ]; then
  echo "Installing $REQUIREMENTS into .venv"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r "$REQUIREMENTS"
  touch "$stamp"
fi
PY=.venv/bin/python
export PATH="$PWD/.venv/bin:$PATH"
