"""The commands on unusual terminals and locales: a huge or tiny ``COLUMNS``, an ASCII stream.

Each test runs the command as a process with the environment set, as a user's shell starts it:
the width and the encodings are read when the process starts.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import tempfile
import termios
from pathlib import Path

import numpy as np
import pytest

from advisor.validation_messages import NEWER_KEY

_ROOT = Path(__file__).resolve().parent.parent

_HELPS = (
    [
        [sys.executable, "-m", "advisor", *command, "--help"]
        for command in ([], ["recommend"], ["analyze"], ["presets"], ["infer"], ["serve"])
    ]
    + [[sys.executable, str(_ROOT / "server.py"), "--help"]]
    + [
        [sys.executable, "-m", module, "--help"]
        for module in (
            "bench.bench_anytime",
            "bench.infer.speed",
            "bench.infer.findings",
            # Each has an option of choices wider than a usage line (--case, --kinds, --tasks).
            "bench.bench_scale",
            "bench.infer.tails",
            "bench.outcomes.run",
        )
    ]
)


def _run(command: list[str], **environment: str) -> subprocess.CompletedProcess[str]:
    """Run ``command`` from the repository with ``environment`` over this process's own."""
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="strict",
        env={**os.environ, **environment},
        cwd=_ROOT,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("command", _HELPS, ids=lambda command: Path(command[-2]).name)
@pytest.mark.parametrize(("columns", "held_at"), [("100000", "96"), ("20", "40")])
def test_help_wraps_within_40_to_96_columns_whatever_columns_says(
    command: list[str], columns: str, held_at: str
) -> None:
    # argparse wraps at COLUMNS: at 100000 `advisor recommend --help` printed its usage as one
    # line of 823 characters, and at 20 each subcommand's summary a word a line under its name.
    # So did the benchmark commands' descriptions (bench.report.command_parser).
    result = _run(command, COLUMNS=columns)
    assert result.returncode == 0, result.stderr
    assert max(map(len, result.stdout.splitlines())) <= 96, result.stdout
    assert result.stdout == _run(command, COLUMNS=held_at).stdout


_ARCHITECTURE = str(_ROOT / "examples" / "architectures" / "mirror.yaml")
_NOT_A_TASK = (
    "advisor: error: task: is an architecture (it has geometry, layers, representation), not a "
    "task: a task file holds input and correlations or a preset (docs/FORMATS.md {section}1) "
    f"(from {_ARCHITECTURE})\n"
)


@pytest.mark.parametrize(
    ("locale", "section"),
    [
        ({"PYTHONIOENCODING": "ascii"}, "section "),
        ({"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": ""}, "section "),
        ({"LC_ALL": "C.UTF-8", "PYTHONIOENCODING": ""}, "§"),
        ({"PYTHONIOENCODING": "latin-1"}, "§"),
    ],
    ids=["ascii", "C", "C.UTF-8", "latin-1"],
)
def test_an_error_names_the_docs_section_in_words_where_standard_error_lacks_the_sign(
    locale: dict[str, str], section: str
) -> None:
    # An ASCII standard error wrote the section sign as Python's escape: `docs/FORMATS.md
    # \xa71`, which reads as no section at all.
    command = [sys.executable, "-m", "advisor", "analyze", _ARCHITECTURE, "--arch", _ARCHITECTURE]
    result = subprocess.run(
        command, capture_output=True, env={**os.environ, **locale}, cwd=_ROOT, timeout=120
    )
    assert result.returncode == 2
    encoding = locale.get("PYTHONIOENCODING") or "utf-8"
    assert result.stderr.decode(encoding) == _NOT_A_TASK.format(section=section)


_LOCALES = {
    "C": {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": ""},
    "C.UTF-8": {"LC_ALL": "C.UTF-8", "PYTHONIOENCODING": ""},
}
"""The POSIX locale, whose file system encoding is ASCII, and a UTF-8 one."""


@pytest.mark.parametrize(
    ("locale", "name", "shown"),
    [
        ("C", "tâche.yaml".encode(), r"t\xc3\xa2che.yaml"),
        ("C", b"\xff.yaml", r"\xff.yaml"),
        ("C.UTF-8", "tâche.yaml".encode(), "tâche.yaml"),
        ("C.UTF-8", b"\xff.yaml", r"\xff.yaml"),
    ],
    ids=["C-accent", "C-byte", "UTF-8-accent", "UTF-8-byte"],
)
def test_a_file_name_the_locale_cannot_decode_is_shown_by_its_bytes(
    locale: str, name: bytes, shown: str, tmp_path: Path
) -> None:
    # Under LC_ALL=C Python reads a name's undecodable bytes as lone surrogates, and the error
    # lines showed them as such: `cannot read task file 't\udcc3\udca2che.yaml'`, and a
    # refusal of the file's contents as `(from t\udcc3\udca2che.yaml)`.
    folder = os.fsencode(tmp_path)
    (tmp_path / "bad.yaml").write_text("input: {shape: [4]}\ncorrelations: []\nx: 1\n")
    os.link(tmp_path / "bad.yaml", folder + b"/bad-" + name)
    run: list[str | bytes] = [sys.executable, "-m", "advisor", "analyze", "--arch", _ARCHITECTURE]
    encoding = "utf-8" if locale == "C.UTF-8" else "ascii"
    lines = []
    for path in (folder + b"/" + name, folder + b"/bad-" + name):
        result = subprocess.run(
            [*run, path], capture_output=True, env={**os.environ, **_LOCALES[locale]}, cwd=_ROOT
        )
        assert result.returncode == 2
        lines.append(result.stderr.decode(encoding))
    prefix = f"advisor: error: task: cannot read task file '{tmp_path}/{shown}': "
    assert lines[0] == f"{prefix}No such file or directory\n"
    refused = (
        f"advisor: error: task.x: Extra inputs are not permitted{NEWER_KEY}; known: arrangement, "
        "correlations, input, outputs, preset"
    )
    assert lines[1] == f"{refused} (from {tmp_path}/bad-{shown})\n"


@pytest.mark.parametrize("locale", _LOCALES)
def test_a_usage_error_shows_a_word_as_it_shows_the_file_it_names(
    locale: str, tmp_path: Path
) -> None:
    # Under LC_ALL=C the value refused was argparse's repr, 't\udcc3\udca2che.yaml', beside
    # the hint's 't\xc3\xa2che.yaml' (shown_path) for the same word on the same line.
    task = tmp_path / "tâche.yaml"
    task.write_text("")
    command = [sys.executable, "-m", "advisor", "recommend", "--budget", "100", "--channels"]
    result = subprocess.run(
        [*command, "2", os.fsencode(task)],
        capture_output=True,
        env={**os.environ, **_LOCALES[locale]},
        cwd=_ROOT,
    )
    assert result.returncode == 2
    shown = f"'{tmp_path}/" + ("tâche.yaml'" if locale == "C.UTF-8" else r"t\xc3\xa2che.yaml'")
    line = result.stderr.decode("utf-8")
    assert line.startswith(f"advisor: error: --channels: invalid value {shown} (a whole number")
    assert f"--channels took {shown} into its list" in line


@pytest.mark.parametrize("locale", _LOCALES)
def test_infer_names_a_data_file_the_locale_cannot_decode_by_its_bytes(
    locale: str, tmp_path: Path
) -> None:
    data = os.fsencode(tmp_path) + b"/\xffdata.npy"
    result = subprocess.run(
        [sys.executable, "-m", "advisor", "infer", data],
        capture_output=True,
        env={**os.environ, **_LOCALES[locale]},
        cwd=_ROOT,
    )
    assert result.returncode == 2
    assert result.stderr.decode("ascii") == (
        f"advisor: error: DATA: {tmp_path}/\\xffdata.npy: No such file or directory\n"
    )


@pytest.mark.parametrize("locale", _LOCALES)
def test_a_token_file_that_cannot_be_read_is_named_once_by_its_bytes(
    locale: str, tmp_path: Path
) -> None:
    # The OSError's text named the file a second time, as Python writes it: `--token-file:
    # cannot read t\xc3\xa2: [Errno 2] No such file or directory: 't\udcc3\udca2'`.
    token = os.fsencode(tmp_path) + b"/\xfftoken"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "advisor",
            "presets",
            "--target",
            "127.0.0.1:1",
            "--token-file",
            token,
        ],
        capture_output=True,
        env={**os.environ, **_LOCALES[locale]},
        cwd=_ROOT,
    )
    assert result.returncode == 2
    assert result.stderr.decode("ascii") == (
        f"advisor: error: --token-file: cannot read {tmp_path}/\\xfftoken: "
        "No such file or directory\n"
    )


def _on_terminal(command: list[str], columns: int, stdout: Path) -> tuple[int, list[str]]:
    """Run ``command`` with standard error a terminal of ``columns`` and standard output a file.

    Return its exit status and the lines the terminal shows, each as the last carriage return
    left it (the progress line is drawn over and erased).
    """
    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    environment = {name: value for name, value in os.environ.items() if name != "COLUMNS"}
    with stdout.open("wb") as file:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=file,
            stderr=secondary,
            env=environment,
            cwd=_ROOT,
        )
    os.close(secondary)
    shown = bytearray()
    try:
        while select.select([primary], [], [], 120)[0]:
            chunk = os.read(primary, 65536)
            if not chunk:
                break
            shown += chunk
    except OSError:  # the terminal's other end closed: the process has ended
        pass
    finally:
        os.close(primary)
    status = process.wait(timeout=120)
    text = shown.decode().replace("\r\n", "\n")
    return status, [line.rpartition("\r")[2] for line in text.split("\n")]


def _mirrored() -> np.ndarray:
    """300 samples of an 8x8 grid whose right half mirrors its left: a task to infer."""
    values = np.random.default_rng(0).standard_normal((300, 8, 8))
    values[:, :, 4:] = values[:, :, 3::-1]
    return values


def test_the_infer_report_fits_the_terminal_it_is_shown_on_while_the_task_goes_to_a_file(
    tmp_path: Path,
) -> None:
    # The report was measured on standard output's terminal, whatever it went to: `advisor
    # infer DATA > task.yaml` on a 60-column terminal wrapped its report at 80 columns (no
    # terminal to measure), which the terminal broke wherever its edge fell.
    data = tmp_path / "mirrored.npy"
    np.save(data, _mirrored())
    task = tmp_path / "task.yaml"
    command = [sys.executable, "-m", "advisor", "infer", str(data)]
    status, lines = _on_terminal(command, 60, task)
    assert status == 0, lines
    assert any(line.startswith("evidence: ") for line in lines), lines
    assert max(map(len, lines)) <= 60, lines
    assert task.read_text().startswith("input:")


def test_a_server_announces_an_address_its_standard_output_cannot_encode_with_escapes() -> None:
    # `PYTHONIOENCODING=ascii advisor serve --host unix:/tmp/日本.sock` started serving, then
    # printing "listening on" ended it: `advisor: error: unexpected UnicodeEncodeError`, exit 1.
    with tempfile.TemporaryDirectory(dir="/tmp") as folder:  # a socket's path is short
        command = [sys.executable, str(_ROOT / "server.py"), "--host", f"unix:{folder}/日本.sock"]
        process = subprocess.Popen(
            [*command, "--executor", "threads", "--grace", "0"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONIOENCODING": "ascii"},
            cwd=_ROOT,
        )
        try:
            assert process.stdout is not None
            line = process.stdout.readline().decode("ascii")
            assert line == f"listening on unix:{folder}/\\u65e5\\u672c.sock\n"
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=60) == 0
        finally:
            if process.poll() is None:
                process.kill()
            process.communicate(timeout=60)


@pytest.mark.parametrize(
    ("command", "word", "shown"),
    [
        ([sys.executable, "-m", "advisor", "presets"], "--x\x1b[31mred", r"--x\x1b[31mred"),
        ([sys.executable, "-m", "advisor", "presets"], "a\nb", r"a\nb"),
        ([sys.executable, str(_ROOT / "server.py")], "--x\rb", r"--x\rb"),
    ],
    ids=["escape-sequence", "newline", "server-carriage-return"],
)
def test_an_error_line_shows_a_control_character_of_the_command_line_as_an_escape(
    command: list[str], word: str, shown: str
) -> None:
    # An unrecognized argument was written as typed: its escape sequence turned the terminal
    # red (or worse), and its newline made the one error line two.
    result = _run([*command, word])
    assert result.returncode == 2
    name = "advisor" if "advisor" in command else "server.py"
    assert result.stderr == f"{name}: error: unrecognized arguments: {shown}\n"


def test_infer_names_its_files_with_control_characters_as_escapes(tmp_path: Path) -> None:
    # `advisor infer $'z\e[31m.npz' --output $'a\e[31mb.yaml'` wrote both names as typed in
    # its note and its last line: the escape sequences turned the terminal red.
    data = tmp_path / "z\x1b[31m.npz"
    np.savez(data, data=_mirrored(), labels=np.zeros(300))
    output = tmp_path / "a\x1b[31mb.yaml"
    result = _run([sys.executable, "-m", "advisor", "infer", str(data), "--output", str(output)])
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout
    shown = result.stdout.replace("\n  ", " ")  # the note's lines, unwrapped
    assert f"note: {tmp_path}/z\\x1b[31m.npz also holds an array 'labels'" in shown
    assert shown.endswith(f"task written to {tmp_path}/a\\x1b[31mb.yaml\n")
    assert output.read_text().startswith("input:")
