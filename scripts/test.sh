#!/usr/bin/env bash
# The README's test command after bootstrap: lint, architecture contracts, then the whole suite.
set -uo pipefail
cd "$(dirname "$0")/.."

# Every run gets its own data folder (database files, media, Redis data) so nothing leaks
# between runs and the working tree stays clean.
export DATA_DIR="${TEST_DATA_DIR:-$(mktemp -d -t challenge-test-XXXXXX)}"
export DJANGO_SETTINGS_MODULE=challenge_platform.settings.test

.venv/bin/ruff check . || { echo "ruff found problems (see above)"; exit 1; }
# client/ is its own distribution (installed by the bootstrap); analyse this tree's copy.
PYTHONPATH="client${PYTHONPATH:+:$PYTHONPATH}" .venv/bin/lint-imports --no-cache || { echo "an import-linter contract is broken (see above)"; exit 1; }

.venv/bin/python -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
    echo "pytest collected no tests: treating that as a failure" >&2
    rc=1
fi
[ -z "${TEST_DATA_DIR:-}" ] && rm -rf "$DATA_DIR"
exit "$rc"
