"""How the project is installed: ``advisor`` runs with its own client, ``.ci/setup``'s Python.

``python -m advisor`` from a checkout whose project was not installed failed with a traceback once
a command needed ``advisor_client``, and with an older wheel installed ran the checkout's
``advisor`` with the wheel's client. Each case runs ``python -S`` (no site-packages, so no
installed copy of the project interferes) on a ``PYTHONPATH`` the test builds. ``.ci/setup`` runs
in a copy, with stand-in interpreters that answer its version query and log pip's calls.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from advisor import entry
from advisor.usage import USAGE_EXIT_STATUS

ROOT = Path(__file__).resolve().parent.parent


def _advisor(folders: list[Path], *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -S -m advisor *args`` with exactly ``folders`` as its ``PYTHONPATH``."""
    return subprocess.run(
        [sys.executable, "-S", "-m", "advisor", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(map(str, folders))},
        cwd=folders[-1],
        timeout=120,
        check=False,
    )


def _folder_with_client(folder: Path, client: Path | None) -> Path:
    """Make ``folder`` hold ``advisor_client`` as a link to ``client`` (none when None)."""
    folder.mkdir(exist_ok=True)
    if client is not None:
        (folder / "advisor_client").symlink_to(client, target_is_directory=True)
    return folder


def test_a_checkout_without_the_client_installed_says_to_install_it(tmp_path: Path) -> None:
    result = _advisor([ROOT, tmp_path], "presets")
    assert result.returncode == USAGE_EXIT_STATUS, result.stderr
    assert result.stderr.splitlines() == [
        "advisor: error: no module advisor_client, the client library advisor runs with: install "
        f"the project from its checkout {ROOT}: pip install -e . (or bash .ci/setup)"
    ]


def test_a_checkout_with_another_copys_client_names_both_and_imports_neither(
    tmp_path: Path,
) -> None:
    other = tmp_path / "site-packages" / "advisor_client"
    other.mkdir(parents=True)
    (other / "__init__.py").write_text("raise SystemExit(99)\n", encoding="utf-8")
    result = _advisor([ROOT, other.parent], "--help")
    assert result.returncode == USAGE_EXIT_STATUS, result.stderr
    assert result.stderr.splitlines() == [
        f"advisor: error: the advisor at {ROOT / 'advisor'} would run with the client library of "
        f"another copy, {other}: install the project from its checkout {ROOT}: pip install -e . "
        "(or bash .ci/setup)"
    ]


def test_an_unpacked_sdist_is_not_told_of_the_setup_script_it_lacks(tmp_path: Path) -> None:
    # The sdist ships no .ci/: its hint named "bash .ci/setup", which is not there.
    assert entry._install(tmp_path) == (
        f"install the project from its checkout {tmp_path}: pip install -e ."
    )
    assert entry._install(ROOT).endswith("pip install -e . (or bash .ci/setup)")


def test_a_checkout_runs_with_its_own_client_reached_through_a_link(tmp_path: Path) -> None:
    linked = _folder_with_client(tmp_path / "linked", ROOT / "client")  # as .ci/mypy links it
    result = _advisor([ROOT, linked], "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("advisor ")


def test_an_installed_advisor_beside_another_projects_client_package_is_no_checkout(
    tmp_path: Path,
) -> None:
    # A wheel's site-packages: `advisor` beside a `client` package of another project.
    site = tmp_path / "site-packages"
    shutil.copytree(ROOT / "advisor", site / "advisor", ignore=shutil.ignore_patterns("*.pyc"))
    (site / "client").mkdir()
    (site / "client" / "__init__.py").write_text("", encoding="utf-8")
    missing = _advisor([site], "presets")
    assert missing.returncode == USAGE_EXIT_STATUS, missing.stderr
    # It said "pip install architecture-advisor": an install already there satisfies that (and
    # no index this project is tested with has the name), so the advice changed nothing.
    assert missing.stderr.endswith(
        ": reinstall the project from the wheel or checkout it came from: pip install "
        "--force-reinstall WHEEL (pip install -e . in a checkout)\n"
    )
    installed = _advisor([_folder_with_client(site, ROOT / "client")], "--version")
    assert installed.returncode == 0, installed.stderr


# A stand-in interpreter for .ci/setup: `-c` (the version query) answers "MAJOR.MINOR PREFIX",
# `-m venv DIR` makes DIR/bin/python a copy of it, `-m pip ...` is logged in pip.log.
_FAKE_PYTHON = """#!/bin/sh
case "$1" in
    -c) echo "{answer}" ;;
    -m) if [ "$2" = venv ]; then mkdir -p "$3/bin" && cp "$0" "$3/bin/python"
        else echo "$*" >> "{log}"; fi ;;
esac
"""


def _fake_python(path: Path, answer: str, log: Path) -> Path:
    """Write a stand-in interpreter at ``path`` that says it is Python ``answer``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_FAKE_PYTHON.format(answer=answer, log=log), encoding="utf-8")
    path.chmod(0o755)
    return path


def _setup_copy(tmp_path: Path, venv_python: str | None) -> Path:
    """A copy of .ci/setup and pyproject.toml with a .venv of ``venv_python``, fully stamped."""
    checkout = tmp_path / "checkout"
    (checkout / ".ci").mkdir(parents=True)
    shutil.copy2(ROOT / ".ci" / "setup", checkout / ".ci" / "setup")
    shutil.copy2(ROOT / "pyproject.toml", checkout / "pyproject.toml")
    if venv_python is not None:
        venv = checkout / ".venv"
        _fake_python(venv / "bin" / "python", venv_python, tmp_path / "pip.log")
        project = hashlib.sha256((checkout / "pyproject.toml").read_bytes()).hexdigest()[:16]
        (venv / f".installed-{project}-core").touch()
        (venv / "sentinel").touch()
    return checkout


def _run_setup(checkout: Path, python: Path) -> subprocess.CompletedProcess[str]:
    """Run the copy's ``.ci/setup ""`` (the core alone) with ``PYTHON=python``."""
    return subprocess.run(
        ["bash", str(checkout / ".ci" / "setup"), ""],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHON": str(python)},
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("venv_python", "reason"),
    [
        ("3.10 /old", "its Python (3.10 /old) is not 3.11 or later"),
        ("3.11 /other", "its Python (3.11 /other) is not PYTHON={python} (3.11 /usr)"),
    ],
)
def test_setup_rebuilds_a_venv_of_another_python_and_installs_again(
    tmp_path: Path, venv_python: str, reason: str
) -> None:
    # Reused, every later run failed "requires a different Python" until rm -rf .venv by hand.
    checkout = _setup_copy(tmp_path, venv_python)
    python = _fake_python(tmp_path / "python3.11", "3.11 /usr", tmp_path / "pip.log")
    result = _run_setup(checkout, python)
    assert result.returncode == 0, result.stderr
    assert result.stderr == f".ci/setup: rebuilding .venv: {reason.format(python=python)}\n"
    assert not (checkout / ".venv" / "sentinel").exists()
    assert "-m pip install --quiet -e ." in (tmp_path / "pip.log").read_text(encoding="utf-8")
    assert list((checkout / ".venv").glob(".installed-*-core")) != []


def test_setup_keeps_a_venv_of_the_python_it_names(tmp_path: Path) -> None:
    checkout = _setup_copy(tmp_path, "3.11 /usr")
    python = _fake_python(tmp_path / "python3.11", "3.11 /usr", tmp_path / "pip.log")
    result = _run_setup(checkout, python)
    assert (result.returncode, result.stderr) == (0, "")
    assert (checkout / ".venv" / "sentinel").exists()
    assert not (tmp_path / "pip.log").exists()


@pytest.mark.parametrize("venv_python", [None, "3.10 /old"])
def test_setup_refuses_a_python_older_than_the_project_needs_and_leaves_the_venv(
    tmp_path: Path, venv_python: str | None
) -> None:
    checkout = _setup_copy(tmp_path, venv_python)
    python = _fake_python(tmp_path / "python3.10", "3.10 /usr", tmp_path / "pip.log")
    result = _run_setup(checkout, python)
    assert result.returncode == 1
    assert result.stderr == (
        f".ci/setup: {python} is Python 3.10; the project needs Python 3.11 or later: name one "
        "with PYTHON=...\n"
    )
    assert (checkout / ".venv").exists() == (venv_python is not None)
    assert (checkout / ".venv" / "sentinel").exists() == (venv_python is not None)
    assert not (tmp_path / "pip.log").exists()
