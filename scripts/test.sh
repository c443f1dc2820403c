#!/usr/bin/env bash
# The README's test command after bootstrap: lint, architecture contracts, the manual's strict
# build, then the whole suite.
set -uo pipefail
cd "$(dirname "$0")/.."

# Every run gets its own data folder (database files, media, Redis data) so nothing leaks
# between runs and the working tree stays clean.
export DATA_DIR="${TEST_DATA_DIR:-$(mktemp -d -t challenge-test-XXXXXX)}"
export DJANGO_SETTINGS_MODULE=challenge_platform.settings.test

.venv/bin/ruff check . || { echo "ruff found problems (see above)"; exit 1; }
# The suite starts hundreds of Python processes (workers, manage.py, the CLI, sandboxed runs);
# where PYTHONDONTWRITEBYTECODE is set, each compiled this tree's modules again (0.7 s a start).
# Compiled once here (a few seconds; a stale .pyc is never used, Python checks the source).
.venv/bin/python -m compileall -q -j 0 -x '(^|/)(\.venv|\.git|node_modules)(/|$)' . >/dev/null ||
    echo "compileall could not compile every file (the tests will say which, if it matters)"
# client/ is its own distribution (installed by the bootstrap); analyse this tree's copy.
PYTHONPATH="client${PYTHONPATH:+:$PYTHONPATH}" .venv/bin/lint-imports --no-cache || { echo "an import-linter contract is broken (see above)"; exit 1; }
# The manual (mkdocs.yml, docs/) in strict mode: a broken link, a page missing from the menu or
# an unknown anchor fails the run. Built into this run's data folder, so the tree stays clean.
.venv/bin/mkdocs build --strict --quiet --site-dir "$DATA_DIR/site" ||
    { echo "the manual does not build (see above: a broken link, a missing page or anchor)"; exit 1; }

# The suite itself, in its parts (scripts/test_parts.sh).
bash scripts/test_parts.sh "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
    echo "pytest collected no tests: treating that as a failure" >&2
    rc=1
fi
[ -z "${TEST_DATA_DIR:-}" ] && rm -rf "$DATA_DIR"
exit "$rc"
