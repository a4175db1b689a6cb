#!/usr/bin/env bash
# Creates the project's virtualenv and installs the project with its test dependencies.
#   deploy/venv.sh [PYTHON] [VENV_DIR]
set -euo pipefail
PYTHON="${1:-python3}"
VENV="${2:-.venv}"

if ! "$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11)' 2>/dev/null; then
    echo "venv: Python 3.11 is required (found: $("$PYTHON" --version 2>&1 || echo none))" >&2
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3.11 python3.11-venv
        PYTHON=python3.11
    else
        exit 1
    fi
fi
if ! "$PYTHON" -m venv --help >/dev/null 2>&1 || ! "$PYTHON" -c 'import ensurepip' 2>/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
fi
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install -q -e '.[dev]'
echo "venv: $VENV ready ($("$VENV/bin/python" --version))"
