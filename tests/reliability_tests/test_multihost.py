"""Many hosts (issue 15): ``scripts/multihost.sh --quick --phases`` passes.

The script runs every role of the docker/ deployment on its own simulated host (a network
namespace with its own address and folder: PostgreSQL, Redis, an S3 server, HAProxy, two
web hosts with their board servers, two scoring worker hosts, a baselines/algorithms/renders
host and beat), uploads through
the balancer while a worker host is killed mid-scoring (its submission taken back through
worker liveness), the broker's link is cut, PostgreSQL restarts and a web host stops, then
checks that no submission was lost or doubled and that the board agrees with the scored
submissions. It removes its namespaces,
processes and folders itself, even on failure.

It needs root (network namespaces), ``ip``, ``unshare``, ``haproxy``, ``redis-server`` and
PostgreSQL's binaries; CI installs them all (.ci/run), so there it runs. Elsewhere the test
is skipped, saying what is missing. Find it with ``pytest -m multihost``.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.reliability_tests.multihost_helpers import missing

# Host-wide (alone, after the parallel part), not beside it: its check that the board renders
# drain within 30 s of the last score (bench/multihost.py) did not hold with the parallel
# part's load on the same two cores (4 renders still waiting); the chaos run, beside it, has
# no such bound.
pytestmark = [pytest.mark.host_wide, pytest.mark.multihost, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(900)
def test_the_deployment_on_many_hosts_loses_and_doubles_nothing_under_faults():
    absent = missing()
    if absent:
        pytest.skip("scripts/multihost.sh needs " + ", ".join(absent))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    script = subprocess.Popen(
        # --phases (issue 62): dev, then final, switched by an organizer's API edit mid-load.
        ["bash", str(REPO / "scripts" / "multihost.sh"), "--quick", "--phases"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = script.communicate(timeout=780)
    except subprocess.TimeoutExpired:
        script.terminate()  # its trap kills the hosts' processes and removes the namespaces
        out, err = script.communicate(timeout=120)
        pytest.fail(f"scripts/multihost.sh --quick did not finish in 13 minutes:\n{out}\n{err}")
    result = subprocess.CompletedProcess(script.args, script.returncode, out, err)
    out = result.stdout
    report = f"exit {result.returncode}\n{out}\n{result.stderr[-4000:]}"
    assert result.returncode == 0, report
    accepted = re.search(r"^submissions accepted: (\d+)$", out, re.M)
    assert accepted and int(accepted.group(1)) == 40, report
    assert re.search(r"^lost: 0 ", out, re.M), report
    phases = r"^phases right: yes \(\d+ in dev before the switch, \d+ in final after it\)$"
    assert re.search(phases, out, re.M), report
    assert re.search(r"^doubled: 0 ", out, re.M), report
    assert re.search(r"^boards right: yes ", out, re.M), report
    # The deployment runs the renders process: the boards the visitor reads were rendered
    # ahead after the scores (its messages consumed, not piling up on board_renders).
    rendered = re.search(r"^boards rendered ahead: (\d+) by the renders process", out, re.M)
    assert rendered and int(rendered.group(1)) > 0, report
    queues = re.search(r"^queues at the end \(.*?\): (.*)$", out, re.M)
    assert queues and "board_renders 0 (renders@mh-jobs)" in queues.group(1), report
    assert queues.group(1).endswith("warnings: none"), report
    for fault in ("killed mid-scoring", "link cut", "PostgreSQL restarted", "web2 stopped"):
        assert re.search(rf"^  .*{fault}.*: \d+\.\d s / \d+\.\d s", out, re.M), (fault, report)
    killed = re.search(r"SIGKILL to its (\d+) processes while it scored submission\(s\) \[", out)
    assert killed and int(killed.group(1)) >= 1, report
    # The scoring hosts are frozen while the driver checks that one holds a scoring, so the
    # kill always strands one; another worker sees it stop beating and takes it back (worker
    # liveness, with the default settings), not the sweeper's stale time: the reason kept on
    # its claim.
    assert "no scoring caught in flight" not in out, report
    back = re.search(
        r"^killed worker: (\d+) of (\d+) re-queued because their worker was seen dead "
        r"\(liveness\), re-queued \d+\.\d s and re-scored \d+\.\d s after the kill "
        r"\(its worker scoring@mh-(worker[12])#[0-9a-f]+ stopped beating",
        out,
        re.M,
    )
    assert back and back.group(1) == back.group(2) != "0", report
    assert re.search(rf"host {back.group(3)} killed mid-scoring", out), report  # the one killed
    # One fault at a time: each of the first three was waited for (recovered, or the cap),
    # and each next fault met an empty queue (or the cap), so no backlog counts into it.
    apart = re.search(r"^faults apart: .* recovered after (.+); queue empty (.+) later$", out, re.M)
    assert apart, report
    for waits in apart.groups():
        assert re.fullmatch(r"(\d+\.\d s|not)(, (\d+\.\d s|not)){2}", waits), report
    assert out.rstrip().endswith("result: PASS"), report
    # Nothing left behind: no namespace of this run, no run folder.
    leftovers = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    names = re.search(r"namespaces (mh\d+-)\*, folders under (\S+)\)", out)
    assert names, report
    assert names.group(1) not in leftovers
    assert not Path(names.group(2)).exists()
