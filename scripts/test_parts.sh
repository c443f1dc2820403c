#!/usr/bin/env bash
# The suite's parts, as scripts/test.sh runs them after its checks: pytest's arguments are
# passed on; DATA_DIR is the run's data folder. The exit status is pytest's (5: no test
# collected in any part).
set -uo pipefail
cd "$(dirname "$0")/.."
: "${DATA_DIR:?set DATA_DIR to the run data folder}"

# Three parts: every test that keeps to its own processes and folders, on all cores
# (pytest-xdist; a data folder and a database per process); beside it, in a pytest of their own,
# the tests marked beside (each builds a whole deployment of its own, network namespaces or the
# make-run process tree, checks only that, and mostly waits on it: they use the cores the
# parallel part leaves idle); then the tests marked host_wide (they check the whole host: its
# processes, tmpfs memory, cgroups), alone. TEST_PROCESSES=1, or a -m / -n of your own, runs one
# pytest as given.
own_selection=0
for arg in "$@"; do
    case "$arg" in -m|-m*|-n|-n*|--numprocesses*) own_selection=1 ;; esac
done
if [ "${TEST_PROCESSES:-auto}" = "1" ] || [ "$own_selection" = "1" ]; then
    .venv/bin/python -m pytest "$@"
    rc=$?
else
    # A command started with & in a script ignores SIGINT, and so would the pytest beside:
    # the shim gives it the default back (on exec), so a Ctrl-C (sent to this whole process
    # group) stops it as it stops the others, its fixtures taking down what they started; a
    # TERM to this script is passed on as an INT. It keeps no pytest cache (-p no:cacheprovider):
    # two pytest runs writing .pytest_cache at once would overwrite each other's last failures.
    beside_log="$DATA_DIR/beside.log"
    mkdir -p "$DATA_DIR/beside"
    DATA_DIR="$DATA_DIR/beside" .venv/bin/python -c \
        'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])' \
        .venv/bin/python -m pytest -m beside -p no:cacheprovider \
        --durations=10 --durations-min=15 "$@" >"$beside_log" 2>&1 &
    beside=$!
    trap 'wait "$beside"; exit 130' INT
    trap 'kill -INT "$beside" 2>/dev/null; wait "$beside"; exit 143' TERM
    # The slowest tests are listed at the end of each part, to keep the suite's time in view.
    .venv/bin/python -m pytest -m "not host_wide and not beside" -n "${TEST_PROCESSES:-auto}" \
        --dist loadfile --durations=30 --durations-min=15 "$@"
    rc=$?
    wait "$beside"
    rc_beside=$?
    trap - INT TERM
    echo "== the tests beside the parallel part (their own deployments) =="
    cat "$beside_log"
    .venv/bin/python -m pytest -m host_wide --durations=10 --durations-min=15 "$@"
    rc_host=$?
    for part in "$rc_beside" "$rc_host"; do
        if [ "$rc" -eq 5 ]; then
            rc=$part  # nothing collected so far: this part's answer
        elif [ "$part" -ne 0 ] && [ "$part" -ne 5 ] && [ "$rc" -eq 0 ]; then
            rc=$part
        fi
    done
fi
exit "$rc"
