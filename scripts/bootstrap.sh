#!/usr/bin/env bash
# Create .venv at the repo root and install the locked dependencies into it.
# Re-running is cheap: nothing is reinstalled while requirements.lock and pyproject.toml are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

pick_python() {
    for candidate in "${PYTHON:-}" python3.11 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "bootstrap: Python 3.11 is required (set PYTHON=/path/to/python3.11)" >&2
    return 1
}

if [ ! -x .venv/bin/python ]; then
    py=$(pick_python)
    echo "bootstrap: creating .venv with $py"
    "$py" -m venv .venv
fi

want=$(cat requirements.lock pyproject.toml client/pyproject.toml | sha256sum | cut -d' ' -f1)
have=$(cat .venv/.installed 2>/dev/null || true)
if [ "$want" != "$have" ]; then
    echo "bootstrap: installing locked dependencies into .venv (first run takes a few minutes)"
    # Some machines configure find-links folders that don't exist; pip warns once per package.
    quiet_pip() { .venv/bin/python -m pip "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }
    quiet_pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
    quiet_pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
    # The command-line client is its own distribution (client/); its dependencies (requests,
    # tqdm) are in the lock already.
    quiet_pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e client/
    echo "$want" > .venv/.installed
fi
