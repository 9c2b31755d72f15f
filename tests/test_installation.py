"""How the project must be installed: ``advisor`` runs with its own client or refuses to start.

``python -m advisor`` from a checkout whose project was not installed failed with a traceback once
a command needed ``advisor_client``, and with an older wheel installed ran the checkout's
``advisor`` with the wheel's client. Each case runs ``python -S`` (no site-packages, so no
installed copy of the project interferes) on a ``PYTHONPATH`` the test builds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from advisor.usage import USAGE_EXIT_STATUS
from advisor.version import DISTRIBUTION

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
    assert missing.stderr.endswith(f": reinstall the project: pip install {DISTRIBUTION}\n")
    installed = _advisor([_folder_with_client(site, ROOT / "client")], "--version")
    assert installed.returncode == 0, installed.stderr
