"""The committed stubs under advisor/protocol/_proto are what protos/generate.sh produces."""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "advisor" / "protocol" / "_proto"


def _relative_files(directory: Path) -> set[Path]:
    return {
        path.relative_to(directory)
        for path in directory.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_committed_stubs_match_a_fresh_generation(tmp_path: Path) -> None:
    fresh = tmp_path / "_proto"
    subprocess.run(
        ["bash", str(ROOT / "protos" / "generate.sh"), str(fresh)],
        check=True,
        capture_output=True,
        env={"PATH": "/usr/bin:/bin", "PYTHON": sys.executable},
    )
    assert _relative_files(fresh) == _relative_files(COMMITTED)
    stale = [
        str(name)
        for name in sorted(_relative_files(fresh))
        if not filecmp.cmp(fresh / name, COMMITTED / name, shallow=False)
    ]
    assert stale == [], "run protos/generate.sh and commit the result"


def test_stubs_import_package_relative() -> None:
    from advisor.protocol._proto.advisor.v1 import advisor_pb2, advisor_pb2_grpc

    assert advisor_pb2.DESCRIPTOR.package == "advisor.v1"
    assert advisor_pb2_grpc.ArchitectureAdvisorStub.__module__.startswith(
        "advisor.protocol._proto."
    )


@pytest.mark.skipif(shutil.which("buf") is None, reason="buf is not installed")
def test_proto_passes_buf_standard_lint() -> None:
    result = subprocess.run(
        ["buf", "lint"], cwd=ROOT / "protos", capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
