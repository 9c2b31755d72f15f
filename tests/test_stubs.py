"""The committed stubs under advisor/protocol/_proto are what protos/generate.sh produces, from a
contract (protos/advisor/v1/advisor.proto) that comments every element it defines."""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import descriptor_pb2

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


def _uncommented(file: descriptor_pb2.FileDescriptorProto) -> list[str]:
    """Name every message, field, enum, enum value and RPC of ``file`` without a leading comment.

    Source paths (descriptor.proto's SourceCodeInfo): 4 = message_type, 2 = its field; 5 =
    enum_type, 2 = its value; 6 = service, 2 = its method.
    """
    commented = {
        tuple(location.path)
        for location in file.source_code_info.location
        if location.leading_comments.strip()
    }
    groups: tuple[tuple[int, Sequence[Any], str], ...] = (
        (4, file.message_type, "field"),
        (5, file.enum_type, "value"),
        (6, file.service, "method"),
    )
    missing = []
    for kind, items, parts in groups:
        for i, item in enumerate(items):
            if kind != 6 and (kind, i) not in commented:
                missing.append(item.name)
            missing += [
                f"{item.name}.{part.name}"
                for j, part in enumerate(getattr(item, parts))
                if (kind, i, 2, j) not in commented
            ]
    return missing


def test_every_element_of_the_contract_says_what_it_means(tmp_path: Path) -> None:
    # An integrator in another language reads only advisor.proto: every message, field, enum
    # value and RPC carries a comment (its meaning, default when unset and bounds).
    descriptors = tmp_path / "advisor.pb"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"--proto_path={ROOT / 'protos'}",
            "--include_source_info",
            f"--descriptor_set_out={descriptors}",
            "advisor/v1/advisor.proto",
        ],
        check=True,
        capture_output=True,
    )
    (file,) = descriptor_pb2.FileDescriptorSet.FromString(descriptors.read_bytes()).file
    assert file.message_type and file.enum_type and file.service
    assert _uncommented(file) == []


@pytest.mark.skipif(shutil.which("buf") is None, reason="buf is not installed")
def test_proto_passes_buf_standard_lint() -> None:
    result = subprocess.run(
        ["buf", "lint"], cwd=ROOT / "protos", capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
