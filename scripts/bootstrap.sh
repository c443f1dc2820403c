#!/usr/bin/env bash
# Create .venv at the repo root and install the locked dependencies into it.
# Re-running is cheap: nothing is reinstalled while requirements.lock, the pyproject files and this
# script are unchanged.
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

# This script is part of the recipe: a change to how it installs installs again.
want=$(cat requirements.lock pyproject.toml client/pyproject.toml scripts/bootstrap.sh | sha256sum | cut -d' ' -f1)
have=$(cat .venv/.installed 2>/dev/null || true)
# uv installs the lock in a fraction of pip's time (parallel downloads and a shared cache). It is
# itself pinned, with hashes, in requirements.lock, and pip installs it from there first; when
# that fails (no uv wheel for this platform, an index without it), or BOOTSTRAP_INSTALLER=pip
# is set, pip installs everything as before.
# uv reads no pip configuration: a mirror given to pip by environment variables is passed on.
uv_environment() {
    if [ -n "${PIP_INDEX_URL:-}" ] && [ -z "${UV_DEFAULT_INDEX:-}${UV_INDEX_URL:-}" ]; then
        export UV_DEFAULT_INDEX="$PIP_INDEX_URL"
    fi
    if [ -n "${PIP_EXTRA_INDEX_URL:-}" ] && [ -z "${UV_INDEX:-}${UV_EXTRA_INDEX_URL:-}" ]; then
        export UV_INDEX="$PIP_EXTRA_INDEX_URL"
    fi
    if [ -n "${PIP_CERT:-}" ] && [ -z "${SSL_CERT_FILE:-}" ]; then
        export SSL_CERT_FILE="$PIP_CERT"
    fi
}

# Some machines configure find-links folders that don't exist; pip warns once per package.
quiet_pip() { .venv/bin/python -m pip "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }

install_with_pip() {
    quiet_pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
    quiet_pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
    # The command-line client is its own distribution (client/); its dependencies (requests,
    # tqdm) are in the lock already.
    quiet_pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e client/
}

install_with_uv() {
    local uv_lock
    uv_lock=$(mktemp)
    # uv's own entry in the lock: its pin line, its hash lines and its "# via" comment.
    awk '/^uv==/ { keep = 1; print; next } keep && /^ / { print; next } { keep = 0 }' \
        requirements.lock > "$uv_lock"
    if ! grep -q '^uv==' "$uv_lock" ||
        ! quiet_pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r "$uv_lock"; then
        rm -f "$uv_lock"
        return 1
    fi
    rm -f "$uv_lock"
    uv_environment
    .venv/bin/uv pip install --quiet --python .venv/bin/python --require-hashes -r requirements.lock &&
        .venv/bin/uv pip install --quiet --python .venv/bin/python --no-deps --no-build-isolation \
            -e . -e client/
}

if [ "$want" != "$have" ]; then
    echo "bootstrap: installing locked dependencies into .venv (first run takes a few minutes)"
    if [ "${BOOTSTRAP_INSTALLER:-uv}" = "pip" ] || ! install_with_uv; then
        [ "${BOOTSTRAP_INSTALLER:-uv}" = "pip" ] || echo "bootstrap: installing with uv failed (see above), installing with pip"
        install_with_pip
    fi
    # uv writes no .pyc files, and where PYTHONDONTWRITEBYTECODE is set (CI images, containers)
    # nothing ever does: every worker, manage.py, CLI and sandboxed run (the sandbox mounts the
    # environment read-only) compiled pandas, Django and the rest again at each start (a
    # worker's imports 4.6-7.1 s instead of 2.0-2.4 s). Compiled once here, for whichever
    # installer ran; a few of the packages' own test files do not compile and need not.
    echo "bootstrap: compiling the installed packages"
    .venv/bin/python -m compileall -q -j 0 "$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" >/dev/null 2>&1 || true
    echo "$want" > .venv/.installed
fi
