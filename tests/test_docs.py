"""The documents stay true to the tree: their links resolve and INTERNALS names every module.

Cheap, deterministic checks of drift the prose cannot catch on its own: a link to a file or a
heading that was renamed, a module added without its contract in docs/INTERNALS.md, a command
shown with an option its parser does not take (renamed, or of another subcommand), an option a
parser takes or an environment variable the product reads that docs/CLI.md does not describe.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import re
import tomllib
from pathlib import Path

import pytest

from advisor.version import RANKING_VERSION

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
# Written by the benchmarks that own them, never by hand.
GENERATED_DOCUMENTS = {"OUTCOMES.md", "PERFORMANCE.md"}
_FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def _anchors(document: Path) -> set[str]:
    """Return the anchors GitHub gives the headings of ``document``."""
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    text = _FENCE.sub("", document.read_text(encoding="utf-8"))
    for heading in re.findall(r"^#+\s+(.*?)\s*$", text, re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_links_resolve_to_files_and_headings_of_the_repository(document: Path) -> None:
    broken = []
    for target in _LINK.findall(document.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        linked = (document.parent / path).resolve() if path else document
        missing = not linked.is_relative_to(ROOT) or not linked.exists()
        if missing or (anchor and linked.suffix == ".md" and anchor not in _anchors(linked)):
            broken.append(target)
    assert not broken, f"{document.name}: links that do not resolve: {broken}"


def test_every_document_the_code_cites_exists() -> None:
    # A docstring that sends its reader to a document (``docs/SERVICE.md, "Concurrency"``) sends
    # them nowhere when that document is gone: the command's cited a DESIGN.md, never written.
    sources = [ROOT / "server.py"]
    sources += [
        path for folder in ("advisor", "client", "bench") for path in (ROOT / folder).rglob("*.py")
    ]
    named = {
        (path.relative_to(ROOT).as_posix(), document)
        for path in sources
        if "_proto" not in path.parts
        for document in re.findall(r"\b([A-Z][A-Z_]*\.md)\b", path.read_text(encoding="utf-8"))
    }
    existing = {document.name for document in DOCUMENTS}
    missing = sorted(f"{path}: {document}" for path, document in named if document not in existing)
    assert missing == [], f"documents the code cites that do not exist: {missing}"


def test_internals_names_every_module() -> None:
    internals = (ROOT / "docs" / "INTERNALS.md").read_text(encoding="utf-8")
    modules = [
        path
        for folder in ("advisor", "client")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path.name != "__init__.py" and "_proto" not in path.parts
    ]
    assert modules
    # Named as a file (`calls.py`, `advisor/arrays.py`) or by one of its names (`calls.run_call`).
    missing = [
        str(path.relative_to(ROOT))
        for path in modules
        if not re.search(rf"(?<![\w.]){path.stem}(\.py\b|\.[A-Za-z_])", internals)
    ]
    assert not missing, f"modules docs/INTERNALS.md does not describe: {missing}"


def test_every_message_field_and_enum_of_the_contract_is_documented() -> None:
    from advisor.protocol._proto.advisor.v1 import advisor_pb2

    documented = "\n".join(
        document.read_text(encoding="utf-8")
        for document in DOCUMENTS
        if document.name not in GENERATED_DOCUMENTS
    )
    missing = []
    for name, message in advisor_pb2.DESCRIPTOR.message_types_by_name.items():
        if not re.search(rf"\b{name}\b", documented):
            missing.append(name)
        missing += [
            f"{name}.{field.name}"
            for field in message.fields
            if not re.search(rf"\b{field.name}\b", documented)
        ]
    missing += [
        name
        for name in advisor_pb2.DESCRIPTOR.enum_types_by_name
        if not re.search(rf"\b{name}\b", documented)
    ]
    for service in advisor_pb2.DESCRIPTOR.services_by_name.values():
        missing += [
            method.name for method in service.methods if f"`{method.name}`" not in documented
        ]
    assert not missing, f"names of advisor.proto no document mentions: {missing}"


def test_the_readme_lists_every_rpc_of_the_service() -> None:
    # The README's list of the service's RPCs left FinishSearch out.
    from advisor.protocol._proto.advisor.v1 import advisor_pb2

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (listed,) = re.findall(r"`advisor\.v1\.ArchitectureAdvisor` — (.*?) —", readme, re.DOTALL)
    service = advisor_pb2.DESCRIPTOR.services_by_name["ArchitectureAdvisor"]
    assert re.findall(r"`(\w+)`", listed) == [method.name for method in service.methods]


# A command as the documents write it: `advisor COMMAND`, or the server under its other names.
_INVOCATION = re.compile(
    r"(?<![\w./-])(?:\.venv/bin/)?(?:advisor (?P<command>[a-z]+)\b"
    r"|(?:advisor-server|python server\.py)(?![\w.-]))"
)
_OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
_SPAN = re.compile(r"`([^`]+)`")


def _command_lines(text: str) -> list[str]:
    """Return the lines of ``text`` that may show a command: code lines, then inline code spans.

    A usage's continuation lines (``[--data DATA ...]`` under ``advisor recommend ...``) and the
    lines after a shell's ``\\`` are joined to their command's line, and a span broken over lines
    is one line.
    """
    code = [line for block in _FENCE.findall(text) for line in block.splitlines()[1:-1]]
    prose = _FENCE.sub("", text)
    code += [line for line in prose.splitlines() if line.startswith("    ")]
    joined: list[str] = []
    for line in code:
        if joined and joined[-1].endswith("\\"):
            joined[-1] = joined[-1][:-1].rstrip() + " " + line.strip()
        elif joined and _INVOCATION.search(joined[-1]) and line.lstrip().startswith("["):
            joined[-1] += " " + line.strip()
        else:
            joined.append(line.strip())
    return joined + [" ".join(span.split()) for span in _SPAN.findall(prose)]


def _options_by_command(text: str) -> list[tuple[str, str]]:
    """Return each ``(command, --option)`` ``text`` writes in a command line.

    An option belongs to the command it follows, up to the next command, a pipe or a comment.
    """
    written = []
    for line in _command_lines(text):
        invocations = list(_INVOCATION.finditer(line))
        for index, invocation in enumerate(invocations):
            end = invocations[index + 1].start() if index + 1 < len(invocations) else len(line)
            words = re.split(r" \| | #", line[invocation.end() : end])[0]
            command = invocation["command"] or "serve"
            written += [(command, option) for option in _OPTION.findall(words)]
    return written


def _command_options() -> dict[str, set[str]]:
    """Return the options each subcommand of ``advisor`` accepts, by its name."""
    from advisor.cli.main import build_parser

    commands = next(
        action
        for action in build_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    return {name: _command_options_of(command) for name, command in commands.choices.items()}


def _command_options_of(parser: argparse.ArgumentParser) -> set[str]:
    """Return the option strings ``parser`` accepts."""
    return {flag for action in parser._actions for flag in action.option_strings}


@pytest.mark.parametrize(
    "document",
    [document for document in DOCUMENTS if document.name not in GENERATED_DOCUMENTS],
    ids=lambda path: path.name,
)
def test_every_option_a_document_writes_in_a_command_is_that_commands(document: Path) -> None:
    # A command copied from a document runs: each `advisor COMMAND ... --option` it writes, in a
    # code block, a usage line or inline, names a command and an option that command accepts.
    accepted = _command_options()
    written = _options_by_command(document.read_text(encoding="utf-8"))
    wrong = sorted(
        {
            f"advisor {command} {option}"
            for command, option in written
            if option not in accepted.get(command, set())
        }
    )
    assert not wrong, f"{document.name}: options its commands do not accept: {wrong}"


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_budget_a_document_writes_in_a_command_is_one_the_command_reads(
    document: Path,
) -> None:
    # PERFORMANCE.md showed `advisor recommend TASK --budget 1,000,000 ...` (bench_sizes's
    # header), which the command refuses: a number is written as the command takes it.
    from advisor.cli.options import count

    written = [
        value
        for line in _command_lines(document.read_text(encoding="utf-8"))
        if _INVOCATION.search(line)
        for value in re.findall(r"--budget[ =]([0-9]\S*)", line)
    ]
    refused = []
    for value in written:
        try:
            count(value)
        except ValueError:
            refused.append(value)
    assert not refused, f"{document.name}: budgets its commands refuse: {refused}"


def test_the_command_lines_of_the_documents_are_read() -> None:
    # The check above reads the usage lines, code blocks and inline commands of the documents.
    written = {
        pair
        for name in ("README.md", "docs/CLI.md", "docs/SERVICE.md")
        for pair in _options_by_command((ROOT / name).read_text(encoding="utf-8"))
    }
    assert {
        ("recommend", "--budget"),  # README's code block
        ("recommend", "--save-task"),  # a usage line's continuation, docs/CLI.md
        ("analyze", "--rank"),  # after a pipe, docs/CLI.md
        ("serve", "--katib-data-dir"),  # python server.py's usage, docs/SERVICE.md
        ("infer", "--allow-constant"),  # README's code block
    } <= written


def test_the_seed_is_documented_by_what_it_draws() -> None:
    # A pipeline asks what a seed changes before it chooses one: the dilation orders sampled
    # past the limit (as many as the code samples, past as many as it tries), and nothing else
    # in a complete search. The command, the formats and the contract each say so.
    from advisor.cli.options import BUDGET_OPTIONS
    from advisor.search.candidates import DILATION_SAMPLE, MAX_DILATION_ORDERS

    rows = {
        "CLI.md": _line_with(ROOT / "docs" / "CLI.md", "| `--seed S` |"),
        "FORMATS.md": _line_with(ROOT / "docs" / "FORMATS.md", "| `seed` |"),
        "advisor.proto": " ".join(
            _comment_before(ROOT / "protos" / "advisor" / "v1" / "advisor.proto", "int64 seed = 10")
        ),
    }
    for name, row in rows.items():
        assert f"{DILATION_SAMPLE} " in row, name
        assert f"more than {MAX_DILATION_ORDERS}" in row, name
        assert "same designs for every seed" in row, name
        # It said "128 steps or more": the search pads 65 and 127 steps to 128 and draws
        # their orders too.
        assert "as 65 or 127 steps are to 128" in row, name
    (seed,) = [option for option in BUDGET_OPTIONS if option.flag == "--seed"]
    assert "65 steps" in seed.settings["help"]
    for steps, drawn in ((65, True), (127, True), (64, False)):
        assert _orders_drawn(steps) is drawn, steps


def _orders_drawn(steps: int) -> bool:
    """Return whether a search of ``steps`` 1-D locations draws its dilation orders by its seed."""
    from advisor import Budget, parse_task, recommend

    first, last = (
        {"box": {"start": [0], "stop": [2]}},
        {"box": {"start": [steps - 2], "stop": [steps]}},
    )
    task = parse_task(
        {"input": {"shape": [steps]}, "correlations": [{"name": "ends", "a": first, "b": last}]}
    )
    budget = Budget(max_parameters=50_000, top_k=1, geometries=["dilations"])
    (best,) = recommend(task, budget).recommendations
    return "Dilation orders were sampled (seed 0)" in best.rationale


def test_the_readme_names_the_calls_the_client_retries() -> None:
    # A caller deciding whether to retry a call itself reads this list; FinishSearch, retried
    # like the others, was missing from it.
    from advisor_client.connection import RetryPolicy

    (config,) = json.loads(RetryPolicy().service_config())["methodConfig"]
    retried = {name["method"] for name in config["name"]}
    text = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    listed = text.split("for the idempotent calls only: ", 1)[1].split(";", 1)[0]
    assert "and a stream only before its first event" in listed
    assert set(re.findall(r"`(\w+)`", listed)) == retried - {"StreamRecommend"}


def test_the_client_module_names_the_calls_it_retries() -> None:
    # The module docstring, what help(advisor_client.client) shows, listed the retried calls
    # without FinishSearch, as the README once did.
    import advisor_client.client
    from advisor_client.connection import RetryPolicy

    (config,) = json.loads(RetryPolicy().service_config())["methodConfig"]
    retried = {name["method"] for name in config["name"]}
    text = " ".join((advisor_client.client.__doc__ or "").split())
    listed = text.split("for the idempotent calls: ", 1)[1].split(". ", 1)[0]
    assert set(re.findall(r"``(\w+)``", listed)) == retried


def test_the_usage_of_python_server_py_names_every_serve_option() -> None:
    # server.py's docstring is its usage; it left out --worker-max-memory, which it accepts.
    import server

    accepted = _command_options()["serve"] - {"-h", "--help"}
    written = {option for _, option in _options_by_command(server.__doc__ or "")}
    assert written == accepted


# The headings of docs/CLI.md whose prose describes each command's own options; the options of
# the commands that call the service are described once, under _CALLS_SECTION.
_COMMAND_SECTIONS = {
    "recommend": ("Output: `--format table|json|yaml`", "`recommend` options"),
    "analyze": ("Output: `--format table|json|yaml`",),
    "presets": ("Output: `--format table|json|yaml`",),
    "infer": ("`infer`",),
    "export": ("`export`",),
    "serve": ("`serve` options",),
    "completion": ("Shell completion: `completion`",),
}
_CALLS_SECTION = "Where the calls go"
# Every command takes them, and the document describes them once.
_EVERY_COMMANDS_OPTIONS = {"--help", "--version"}


def _described(text: str) -> set[str]:
    """Return the options ``text`` describes: those its prose and tables write, not its usages.

    A usage line (``[--top-k K]``) or a command in a code block names an option without saying
    what it does, so neither counts.
    """
    prose = _FENCE.sub("", text).splitlines()
    return set(_OPTION.findall("\n".join(line for line in prose if not line.startswith("    "))))


def _cli_sections() -> dict[str, str]:
    """Return the sections of docs/CLI.md by heading, the text above the first under ``""``."""
    text = (ROOT / "docs" / "CLI.md").read_text(encoding="utf-8")
    first, *sections = re.split(r"^## ", text, flags=re.MULTILINE)
    return {"": first} | {section.split("\n", 1)[0]: section for section in sections}


def test_every_option_of_every_command_is_described_in_its_section_of_the_cli_document() -> None:
    # The converse of the check that a document writes only options its command takes: an
    # option a parser takes is described where a reader of that command looks. infer's --top-k
    # was in its usage line alone: its meaning and default were in INFER.md only.
    from advisor.cli.main import _call_options
    from advisor.service.options import add_serve_arguments

    server = argparse.ArgumentParser(add_help=False)
    add_serve_arguments(server)  # advisor-server's and python server.py's options
    accepted = _command_options()
    assert accepted["serve"] - {"-h", "--help"} == _command_options_of(server)
    assert set(accepted) == set(_COMMAND_SECTIONS)
    calls = _command_options_of(_call_options("30"))
    sections = _cli_sections()
    undescribed = sorted(calls - _described(sections[_CALLS_SECTION]))
    for command, options in accepted.items():
        own = {option for option in options if option.startswith("--")}
        own -= _EVERY_COMMANDS_OPTIONS | (calls if command != "serve" else set())
        described = set().union(
            *(_described(sections[name]) for name in _COMMAND_SECTIONS[command])
        )
        undescribed += [f"advisor {command} {option}" for option in sorted(own - described)]
    undescribed += sorted(_EVERY_COMMANDS_OPTIONS - _described("\n".join(sections.values())))
    assert not undescribed, f"options docs/CLI.md does not describe where it should: {undescribed}"


def _product_sources() -> list[Path]:
    """Return the product's Python files: advisor/, client/ and server.py, not generated code."""
    sources = [ROOT / "server.py"]
    sources += [path for folder in ("advisor", "client") for path in (ROOT / folder).rglob("*.py")]
    return [path for path in sources if "_proto" not in path.parts]


_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def _environment_variables_read() -> set[str]:
    """Return the names of the environment variables the product's code reads.

    A read is ``os.environ.get(NAME)``, ``os.environ[NAME]``, ``NAME in os.environ`` or
    ``os.getenv(NAME)``, NAME a string, a module's string constant (``LOG_FORMAT_VARIABLE``), or
    a parameter of the function that reads it, then named by the calls of that function
    (``variable_problem("GRPC_VERBOSITY", ...)``). A name in any other form fails, so no
    variable goes unseen.
    """
    trees = [ast.parse(path.read_text(encoding="utf-8")) for path in _product_sources()]
    constants = {name: value for tree in trees for name, value in _string_constants(tree)}
    names: set[str] = set()
    parameters: set[tuple[str, int]] = set()  # (function, position) of a variable's name
    for tree in trees:
        functions = [node for node in ast.walk(tree) if isinstance(node, _FUNCTIONS)]
        for key in filter(None, map(_environment_key, ast.walk(tree))):
            name = _string(key, constants)
            if name is not None:
                names.add(name)
                continue
            # The innermost function holding the read: ast.walk meets the outer ones first.
            owner = [f for f in functions if any(node is key for node in ast.walk(f))][-1:]
            arguments = [argument.arg for function in owner for argument in function.args.args]
            assert isinstance(key, ast.Name) and key.id in arguments, ast.unparse(key)
            parameters.add((owner[0].name, arguments.index(key.id)))
    for tree in trees:
        for call in ast.walk(tree):
            if not isinstance(call, ast.Call):
                continue
            called = ast.unparse(call.func).rsplit(".", 1)[-1]
            for reader, position in parameters:
                if called == reader and len(call.args) > position:
                    name = _string(call.args[position], constants)
                    assert name is not None, ast.unparse(call)
                    names.add(name)
    return names


def _string_constants(tree: ast.Module) -> list[tuple[str, str]]:
    """Return the ``(NAME, value)`` of each string a module assigns to a name at its top."""
    constants = []
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        value = getattr(node, "value", None)
        string = value.value if isinstance(value, ast.Constant) else None
        if isinstance(target, ast.Name) and isinstance(string, str):
            constants.append((target.id, string))
    return constants


def _string(node: ast.expr, constants: dict[str, str]) -> str | None:
    """Return the string ``node`` is, written out or as one of ``constants``, else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return constants.get(node.id) if isinstance(node, ast.Name) else None


def _environment_key(node: ast.AST) -> ast.expr | None:
    """Return the expression of the name ``node`` reads from the environment, if it reads one."""
    if isinstance(node, ast.Call) and node.args:
        return node.args[0] if ast.unparse(node.func) in {"os.environ.get", "os.getenv"} else None
    if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
        return node.slice if ast.unparse(node.value) == "os.environ" else None
    if isinstance(node, ast.Compare) and isinstance(node.ops[0], ast.In | ast.NotIn):
        return node.left if ast.unparse(node.comparators[0]) == "os.environ" else None
    return None


def test_every_environment_variable_the_product_reads_is_in_the_cli_document() -> None:
    # A variable changes what a command does without a word on its command line, so a reader
    # finds it only where the commands are described: docs/CLI.md, as every variable the product
    # reads acts on some command, `advisor serve` included. ADVISOR_LOG_FORMAT, which `advisor
    # serve` reads and refuses a wrong value of, was in docs/SERVICE.md alone.
    read = _environment_variables_read()
    assert {"COLUMNS", "GRPC_VERBOSITY", "ADVISOR_LOG_FORMAT"} <= read
    documented = _FENCE.sub("", (ROOT / "docs" / "CLI.md").read_text(encoding="utf-8"))
    missing = sorted(name for name in read if not re.search(rf"`{name}[`=]", documented))
    assert not missing, f"environment variables docs/CLI.md does not describe: {missing}"


def _line_with(document: Path, start: str) -> str:
    """Return the one line of ``document`` that starts with ``start``."""
    (line,) = [
        line for line in document.read_text(encoding="utf-8").splitlines() if line.startswith(start)
    ]
    return line


def test_the_service_document_lists_every_key_a_config_file_takes() -> None:
    # The list left metrics_port and metrics_host out, which a file takes; Katib's port, which
    # it does not, is told apart after the list.
    from advisor.service.command import config_file_keys

    text = (ROOT / "docs" / "SERVICE.md").read_text(encoding="utf-8")
    start = text.index("`--config FILE` (YAML or JSON) sets")
    listing = text[start : text.index("Katib's endpoint is started by options only", start)]
    assert sorted(set(re.findall(r"`([a-z_]+)`", listing))) == config_file_keys()


def _comment_before(proto: Path, field: str) -> list[str]:
    """Return the comment lines right above the line of ``proto`` that holds ``field``."""
    lines = proto.read_text(encoding="utf-8").splitlines()
    (index,) = [i for i, line in enumerate(lines) if field in line]
    comment: list[str] = []
    while lines[index - 1 - len(comment)].strip().startswith("//"):
        comment.insert(0, lines[index - 1 - len(comment)].strip().removeprefix("//").strip())
    return comment


def test_the_worker_memory_bound_is_documented_with_its_floor_and_what_it_replaces() -> None:
    # An operator picks --worker-max-memory from this paragraph: it gave the floor as an idle
    # worker's size and nothing of what searches leave, so a bound at the floor, which replaces
    # a worker after nearly every search (and since the bound acts during a call, stops nearly
    # every search), read as a sensible setting.
    from advisor.service.process_pool import WORKER_PROCESS_BYTES

    text = " ".join((ROOT / "docs" / "SERVICE.md").read_text(encoding="utf-8").split())
    paragraph = text.split("`--worker-max-memory MIB` bounds a worker's memory", 1)[1]
    paragraph = paragraph.split("- `", 1)[0]
    assert f"at least {math.ceil(WORKER_PROCESS_BYTES / 2**20)} " in paragraph
    assert "replaces its worker after nearly every search" in paragraph
    assert "stops nearly every search" in paragraph
    assert "RESOURCE_EXHAUSTED" in paragraph


def test_the_help_says_where_ctrl_c_stops_a_search_as_the_cli_document_does() -> None:
    # The first Ctrl-C finishes a --target's search too (FinishSearch); the help's exit status
    # 130 still said the embedded server's only, as before that change.
    from advisor.cli.options import EXIT_STATUS_HELP

    documented = _line_with(ROOT / "docs" / "CLI.md", "| 130 |")
    (helped,) = [line for line in EXIT_STATUS_HELP.splitlines() if line.startswith("  130")]
    assert "(the embedded server's or a `--target`'s)" in documented
    assert "(the embedded server's or a --target's)" in helped


# A benchmark command as the documents write it: `python -m bench.X`, with or without .venv/bin/.
_BENCH_COMMAND = re.compile(r"(?<![\w./-])(?:\.venv/bin/)?python3? -m (bench(?:\.\w+)+)")


def _bench_commands(text: str) -> list[tuple[str, str]]:
    """Return each ``(module, options)`` of a ``python -m bench.X`` command ``text`` writes.

    The options are the words after the module up to the next command, a pipe or a comment.
    """
    written = []
    for line in _command_lines(text):
        commands = list(_BENCH_COMMAND.finditer(line))
        for index, command in enumerate(commands):
            end = commands[index + 1].start() if index + 1 < len(commands) else len(line)
            written.append((command[1], re.split(r" \| | #|;|&&", line[command.end() : end])[0]))
    return written


def _added_options(tree: ast.AST) -> set[str]:
    """Return the ``--options`` the ``add_argument`` calls in ``tree`` name."""
    return {
        argument.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "add_argument"
        for argument in node.args
        if isinstance(argument, ast.Constant)
        and isinstance(argument.value, str)
        and argument.value.startswith("--")
    }


def _benchmark_options() -> dict[str, set[str]]:
    """Return the options of every benchmark module that runs as a command, by module name.

    A module's options are those its own parser adds and those of the shared helpers it calls
    (``add_write_option``: ``--write-docs``).
    """
    sources = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts): path.read_text(encoding="utf-8")
        for path in (ROOT / "bench").rglob("*.py")
    }
    trees = {module: ast.parse(source) for module, source in sources.items()}
    helpers = {
        node.name: _added_options(node)
        for tree in trees.values()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
    }
    return {
        module: {"--help"}
        | _added_options(tree)
        | {
            option
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            for option in helpers.get(node.func.id, set())
        }
        for module, tree in trees.items()
        if re.search(r"^if __name__ == [\"']__main__[\"']:", sources[module], re.MULTILINE)
    }


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_benchmark_command_a_document_writes_runs_with_its_options(document: Path) -> None:
    # A reader copies `python -m bench.X --option ...` from a document: the module exists, runs
    # as a command, and takes each option the document gives it.
    commands = _benchmark_options()
    wrong = sorted(
        {
            f"python -m {module}" + ("" if module not in commands else f" {option}")
            for module, words in _bench_commands(document.read_text(encoding="utf-8"))
            for option in (_OPTION.findall(words) if module in commands else [""])
            if option not in commands.get(module, set())
        }
    )
    assert not wrong, f"{document.name}: benchmark commands or options that do not exist: {wrong}"


def test_the_benchmark_commands_of_the_documents_are_read() -> None:
    written = {
        (module, option)
        for name in ("docs/VALIDATION.md", "docs/INTEGRATIONS.md", "docs/RELIABILITY.md")
        for module, words in _bench_commands((ROOT / name).read_text(encoding="utf-8"))
        for option in [*_OPTION.findall(words), ""]
    }
    assert {
        ("bench.validate.width_allocation", "--epochs"),  # after a shell's \, VALIDATION.md
        ("bench.validate.pooling_geometry", "--pool"),  # before a comment, VALIDATION.md
        ("bench.optuna_refusals", ""),  # a span broken over lines, INTEGRATIONS.md
        ("bench.fuzz", "--concurrency"),  # a generated section's command, RELIABILITY.md
    } <= written
    options = _benchmark_options()
    assert "--write-docs" in options["bench.bench_search"]  # the shared helper's option
    assert "bench.report" not in options  # a helper module is no command


# `pip install ".[infer]"`, `pip install -e ".[dev,validate]"`, 'architecture-advisor[torch]': an
# install of the project with extras, its argument quoted or not.
_PROJECT_EXTRAS = re.compile(
    r"""pip install (?:-e )?(["']?)(?:\.|architecture-advisor)\[([^\]]*)\]"""
)


def test_every_install_of_the_projects_extras_names_declared_extras_and_is_quoted() -> None:
    with (ROOT / "pyproject.toml").open("rb") as file:
        declared = set(tomllib.load(file)["project"]["optional-dependencies"])
    sources = [*DOCUMENTS, *ROOT.glob("examples/**/*.py"), *ROOT.glob("advisor/**/*.py")]
    found = 0
    for source in sources:
        for quote, extras in _PROJECT_EXTRAS.findall(source.read_text(encoding="utf-8")):
            found += 1
            # A message's template (advisor.extras.extra_needed) names no extra itself.
            named = {extra for extra in extras.split(",") if not extra.startswith("{")}
            assert named <= declared, f"{source.name}: [{extras}]"
            # Unquoted, zsh (macOS's shell) reads the brackets as a pattern: 'no matches found'.
            assert quote, f"{source.name}: the install of [{extras}] is not quoted"
    assert found


def test_the_worker_memory_figures_say_what_was_searched_and_how_it_was_measured() -> None:
    # The figures an operator sets --worker-max-memory from gave 128x128 as "about 127" MiB
    # with neither the task nor the method; a re-measure found 95-100 for presets and about 184
    # for a large task of random indices, both within the default limits.
    text = " ".join((ROOT / "docs" / "SERVICE.md").read_text(encoding="utf-8").split())
    figures = text.split("A worker keeps the memory its largest call needed", 1)[1]
    figures = figures.split("`--worker-max-memory MIB` bounds a worker's memory", 1)[0]
    assert "advisor serve --workers 1 --worker-max-memory 95" in figures
    assert "follows the task's regions more than its grid" in figures


def _generated_section(document: Path, section: str) -> str:
    """Return what lies between ``<!-- begin SECTION -->`` and ``<!-- end SECTION -->``."""
    text = document.read_text(encoding="utf-8")
    return text.split(f"<!-- begin {section} -->", 1)[1].split(f"<!-- end {section} -->", 1)[0]


def _generated_tables(document: Path, section: str) -> list[dict[str, dict[str, str]]]:
    """Return the tables of ``section`` of ``document``, which a benchmark writes, in order.

    A table is its rows by their first cell, a row its cells by their column's heading
    (:func:`_qualified`), bold marks dropped (``**mean**`` is ``mean``).
    """
    tables: list[list[list[str]]] = []
    previous = ""
    for line in _generated_section(document, section).splitlines():
        if not line.startswith("|"):
            previous = line
            continue
        if not previous.startswith("|"):
            tables.append([])
        previous = line
        if not set(line) <= set("|-: "):
            tables[-1].append([cell.strip().strip("*") for cell in line.strip("| ").split("|")])
    return [
        {row[0]: dict(zip(_qualified(heading), row, strict=True)) for row in rows}
        for heading, *rows in tables
    ]


def _qualified(heading: list[str]) -> list[str]:
    """Return the column headings of a table, each under the group a heading before it opens.

    ``description's pool: tau description | tau with the data | with-data pool: ...`` reads as
    ``description's pool: tau with the data`` for the second column, so the two columns of one
    name are told apart.
    """
    qualified, group = [], ""
    for name in heading:
        if ": " in name:
            group = name.split(": ", 1)[0]
            qualified.append(name)
        else:
            qualified.append(f"{group}: {name}" if group else name)
    return qualified


_UNITS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def _in_words(number: int) -> str:
    """Return ``number`` (below 100) as the documents spell it: ``fifty-two``."""
    if number < 20:
        return _UNITS[number]
    tens, units = divmod(number, 10)
    return _TENS[tens] + (f"-{_UNITS[units]}" if units else "")


def _readme_text() -> str:
    """Return the README with its lines joined, so a phrase may span a line break."""
    return " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())


OUTCOMES = ROOT / "docs" / "OUTCOMES.md"


def test_the_readme_quotes_the_outcome_overview_as_the_benchmark_wrote_it() -> None:
    # The README's account of the trained outcomes is prose over tables the benchmark rewrites:
    # each figure it quotes is the one the generated overview holds today.
    (overview,) = _generated_tables(OUTCOMES, "outcomes-overview")
    (with_data,) = _generated_tables(OUTCOMES, "outcomes-overview-data")
    tuned, every = overview["tuned"], overview["all"]
    count, tuned_count = int(every["count"]), int(tuned["count"])
    text = _readme_text()
    assert f"on {_in_words(tuned_count)} tasks, and on {_in_words(count - tuned_count)}" in text
    assert f"mean Kendall tau {tuned['tau advisor score']} on the {_in_words(tuned_count)};" in text
    assert (
        f"{every['tau advisor score']} over all {_in_words(count)} with the objective as it now"
        f" is, against {every['tau #params']} for the parameter count, {every['tau synflow']} for"
        f" synflow and {every['tau NASWOT']} for NASWOT,"
        f" {with_data['all']['tau advisor score']} with the data; the #1 within one std of its"
        f" pool's best on {every['#1 within 1 std']})"
    ) in text
    assert (
        f"over all {_in_words(count)} tasks {with_data['all']['tau advisor score']} against"
        f" {every['tau advisor score']}:"
    ) in text


def test_the_readme_quotes_the_data_arms_figures_as_the_benchmark_wrote_them() -> None:
    # It said +0.47 against +0.41 on both draws and +0.18 against -0.09 on the held-out images,
    # figures of pools since rebuilt: the tables read +0.42, and -0.08 -> +0.24.
    (draws,) = _generated_tables(OUTCOMES, "outcomes-draws")
    _, paired = _generated_tables(OUTCOMES, "outcomes-held-out-3")
    images = paired["mean"]
    text = _readme_text()
    assert (
        f"Kendall tau {draws['with the data, both']['tau advisor score']} against"
        f" {draws['description, both']['tau advisor score']} on two draws of the pools together"
    ) in text
    # Paired on the same members: the description's pool, scored both ways.
    pool = "description's pool"
    assert (
        f"on two held-out image tasks {images[f'{pool}: tau with the data']} against"
        f" {images[f'{pool}: tau description']}"
    ) in text


# The sequence tasks the relation tie-break was fitted on (docs/OUTCOMES.md, "The relation
# tie-break these sets led to"); every other one in the ties table was held out from it.
_TIE_BREAK_FITTED_ON = {
    "sequence-local",
    "sequence-quarter",
    "sequence-eighth",
    "sequence-skip",
    "sequence-shift",
}


def test_the_readme_quotes_the_relation_tie_breaks_gains_as_the_ties_table_holds_them() -> None:
    # It said "nine of ten sequence tasks, five of them held out" after the table had gained
    # sequence-ten: ten of eleven, six held out.
    # A task has a row per rule, so the rows are read as a list, not by their first cell.
    rows = [
        line.strip("| ").split(" | ")
        for line in _generated_section(OUTCOMES, "outcomes-ties").splitlines()
        if line.startswith("| sequence-")
    ]
    accuracy = {(task, rule): float(acc.split()[0]) for task, rule, _, acc in rows}
    gains = {
        task: round(
            accuracy[task, "coherence in the score (the search)"]
            - accuracy[task, "levels apart, listing"],
            1,
        )
        for task, _ in accuracy
    }
    beaten = {task: gain for task, gain in gains.items() if gain > 0}
    held_out = set(beaten) - _TIE_BREAK_FITTED_ON
    assert (
        f"by {min(beaten.values())}-{max(beaten.values())} points on {_in_words(len(beaten))} of"
        f" {_in_words(len(gains))} sequence tasks whose best trees tie on the ranks,"
        f" {_in_words(len(held_out))} of them held out,"
    ) in _readme_text()


_CURRENT_RANKING_VERSION = re.compile(
    r"ranking version (\d+)`|ranking_version=\"(\d+)\"|^ +ranking_version: (\d+) ", re.M
)
"""How the documents quote the current ranking version: ``--version``'s line, the metrics
sample's ``advisor_info`` label and the result examples' field (not a mismatch's example)."""

_REFERENCE_DOCUMENTS = ("CLI.md", "FORMATS.md", "SERVICE.md")


def test_the_documents_quote_the_ranking_version_the_code_ranks_by() -> None:
    # The metrics sample of docs/SERVICE.md still read ranking_version="5" two versions later.
    quoted = [
        (document.name, next(v for v in match if v))
        for document in (ROOT / "README.md", *(ROOT / "docs" / n for n in _REFERENCE_DOCUMENTS))
        for match in _CURRENT_RANKING_VERSION.findall(document.read_text(encoding="utf-8"))
    ]
    assert {name for name, _ in quoted} == {"README.md", *_REFERENCE_DOCUMENTS}
    assert [v for _, v in quoted if v != str(RANKING_VERSION)] == []


def test_the_readmes_set_up_commands_are_the_ci_scripts() -> None:
    # A reader runs the two commands of "Set-up"; CI runs .ci/run, which must be the second, and
    # the extras the README says the tests install are those .ci/test installs.
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    set_up = text.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    commands = [line.split("#", 1)[0].strip() for line in set_up.splitlines() if line[:4] == "    "]
    assert commands == ["bash .ci/demo", "bash .ci/test"]
    assert all((ROOT / command.removeprefix("bash ")).is_file() for command in commands)
    assert "\nexec bash .ci/test\n" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    (installed,) = re.findall(
        r"^bash \.ci/setup (\S+)$", (ROOT / ".ci" / "test").read_text(encoding="utf-8"), re.M
    )
    extras = _readme_text().split("The tests also install the optional extras they cover (", 1)[1]
    named = re.findall(r"`(\w+)`", extras.split(").", 1)[0])
    assert sorted(["dev", *named]) == sorted(installed.split(","))


def test_the_outcomes_prose_quotes_the_tables_beside_it() -> None:
    # docs/OUTCOMES.md's prose around its generated tables said what earlier pools read: the
    # noise ceiling +0.59 where the metrics table reads +0.58, the draws +0.41 where it reads
    # +0.42, forty-one held-out tasks where the overview counts forty-five.
    text = " ".join(OUTCOMES.read_text(encoding="utf-8").split())
    (overview,) = _generated_tables(OUTCOMES, "outcomes-overview")
    held_out = int(overview["all"]["count"]) - int(overview["tuned"]["count"])
    assert f"(and {_in_words(held_out)} held-out tasks added later, below)" in text

    (metrics,) = _generated_tables(OUTCOMES, "outcomes-metrics")
    ceiling = "tau one run (ceiling)"
    per_task = sorted((row[ceiling] for name, row in metrics.items() if name != "mean"), key=float)
    assert (
        f"gives mean τ **{metrics['mean'][ceiling]}** (per task {per_task[0]} to {per_task[-1]};"
    ) in text

    (data_metrics,) = _generated_tables(OUTCOMES, "outcomes-data-metrics")
    assert f"NASWOT ({data_metrics['mean']['tau NASWOT']}) measured on the same members" in text

    (fresh,) = _generated_tables(OUTCOMES, "outcomes-draw-paired")
    with_data = fresh["mean"]["description's pool: tau with the data"]
    alone = fresh["mean"]["description's pool: tau description"]
    assert f"better on average ({with_data} against {alone} on the description's draws)" in text
    assert f"the data's correlations rank at {with_data} against {alone};" in text

    (draws,) = _generated_tables(OUTCOMES, "outcomes-draws")
    score = "tau advisor score"
    both, both_with_data = draws["description, both"], draws["with the data, both"]
    assert f"reads {both_with_data[score]} with the data and {both[score]} without" in text
    assert f"Both as one pool, {both[score]} and {both_with_data[score]}, are the best" in text
    first, second = draws["with the data, first draw"], draws["with the data, second draw"]
    assert f"{first[score]} and {second[score]} (with the data) on the two draws" in text
    assert (
        f"({second[score]}, above #params {second['tau #params']}, synflow"
        f" {second['tau synflow']} and NASWOT {second['tau NASWOT']} on the same members)"
    ) in text


def _held_out_blocks() -> list[str]:
    """Return the names of docs/OUTCOMES.md's generated held-out blocks, in set order."""
    return re.findall(
        r"<!-- begin (outcomes-held-out-\d+) -->", OUTCOMES.read_text(encoding="utf-8")
    )


def _note_on_the_block_above(block: str) -> str:
    """Return what the prose after ``block`` says of "the block above", or ``""``.

    The note runs from those words to the first ``;`` or unmatched ``)`` (the parenthesis that
    holds it closes) or the end of the paragraph, whichever comes first; what follows a ``;``
    there speaks of other pools (the first measurement, another weight).
    """
    after = OUTCOMES.read_text(encoding="utf-8").split(f"<!-- end {block} -->", 1)[1]
    paragraph = after.lstrip("\n").split("\n\n", 1)[0]
    if "block above" not in paragraph:
        return ""
    note, depth = [], 0
    for character in paragraph.split("block above", 1)[1]:
        depth += {"(": 1, ")": -1}.get(character, 0)
        if depth < 0 or (character == ";" and depth == 0):
            break
        note.append(character)
    return " ".join("".join(note).split())


@pytest.mark.parametrize("block", _held_out_blocks())
def test_what_a_held_out_note_says_of_the_block_above_is_what_the_block_holds(block: str) -> None:
    # The notes beside the held-out blocks quoted earlier pools as the block's: sequence-skip's #1
    # "75.2%, within one std" where the block read 74.9%, a miss; sequence-eighth's tau +0.52
    # where it read +0.82.
    note = _note_on_the_block_above(block)
    metrics, *_ = _generated_tables(OUTCOMES, block)
    taus = {row["tau advisor score"] for row in metrics.values()}
    accuracies = {row[column] for row in metrics.values() for column in ("best %", "advisor #1 %")}
    for tau in re.findall(r"[+-]\d\.\d\d", note):
        assert tau in taus, (block, note)
    # Accuracies are the figures of ten or more, once the stds and gaps are taken out.
    for accuracy in re.findall(r"\d{2,}\.\d", re.sub(r"± \S+|\S+ points", "", note)):
        assert accuracy in accuracies, (block, note)
    for within in re.findall(r"(\d+ of \d+) within one std", note):
        assert within == metrics["mean"]["within 1 std"], (block, note)


def _task_rows() -> dict[str, dict[str, str]]:
    """Return every task's row of the generated metrics tables, tuned and held out."""
    rows: dict[str, dict[str, str]] = {}
    for block in ["outcomes-metrics", *_held_out_blocks()]:
        metrics, *_ = _generated_tables(OUTCOMES, block)
        rows.update({task: row for task, row in metrics.items() if task != "mean"})
    return rows


def test_the_outcomes_glance_lists_every_miss_and_quotes_the_taus_of_the_tables() -> None:
    text = " ".join(OUTCOMES.read_text(encoding="utf-8").split())
    glance = text.split("## At a glance", 1)[1].split("## The record", 1)[0]
    rows = _task_rows()
    misses = {task for task, row in rows.items() if row["within 1 std"] == "no"}
    assert f"The {_in_words(len(misses))} misses of the #1, by cause:" in glance
    listed: list[str] = []
    for count, tasks in re.findall(r"- \*\*[^*]+\*\* \((\d+): ([a-z0-9, -]+)[;)]", glance):
        named = [task.strip() for task in tasks.split(",")]
        assert int(count) == len(named), tasks
        listed += named
    assert sorted(listed) == sorted(misses)
    # "Where τ is low (symmetry -0.03, ..., the image set 3 -0.08, ...)": each a task's or a
    # set's tau as the tables print it (it said -0.09, the mean of two rounded figures).
    (overview,) = _generated_tables(OUTCOMES, "outcomes-overview")
    taus = {row["tau advisor score"] for row in [*rows.values(), *overview.values()]}
    low = glance.split("Where τ is low (", 1)[1].split(")", 1)[0]
    assert re.findall(r"[+-]\d\.\d\d", low)
    assert set(re.findall(r"[+-]\d\.\d\d", low)) <= taus, low


def test_the_performance_prose_that_presents_the_anytime_table_quotes_it() -> None:
    # Two paragraphs of docs/PERFORMANCE.md each said "the table above is a run after ..."; the
    # earlier one's figures (0.123 at worst, first trees at 7.9-15.8%) were of the run the table
    # no longer holds (0.134, 8.0-15.9%).
    (anytime,) = _generated_tables(ROOT / "docs" / "PERFORMANCE.md", "anytime")
    worst = max(anytime.values(), key=lambda row: float(row["worst progress error"]))
    first = "first tree within 90% (share of the full time)"
    misses = sorted(
        (row[first] for row in anytime.values() if float(row["share of the full score"][:-1]) < 90),
        key=lambda share: float(share[:-1]),
    )
    text = (ROOT / "docs" / "PERFORMANCE.md").read_text(encoding="utf-8")
    presenting = [
        paragraph
        for paragraph in (" ".join(block.split()) for block in text.split("\n\n"))
        if re.search(r"[Tt]able above is a run", paragraph) and "at worst)" in paragraph
    ]
    assert presenting
    for paragraph in presenting:
        assert f"({worst['worst progress error']} at worst)" in paragraph, paragraph[:80]
        assert f"{misses[0][:-1]}-{misses[-1]} of the time" in paragraph, paragraph[:80]


def test_deploying_names_every_connection_setting_the_server_gives_grpc() -> None:
    # An operator putting the server behind a load balancer reads "Deploying"; it named no
    # connection bound, so what a balancer's keepalive and timeouts must agree with (the
    # connection age, the pings the server permits) was left to be found in the code.
    from advisor.service.server import ServerConfig, _channel_options

    text = (ROOT / "docs" / "SERVICE.md").read_text(encoding="utf-8")
    deploying = text.split("\n## Deploying\n", 1)[1].split("\n## ", 1)[0]
    bounds = ("connection", "keepalive", "ping")
    options = [
        name for name, _ in _channel_options(ServerConfig()) if any(b in name for b in bounds)
    ]
    assert [name for name in options if f"`{name}`" not in deploying] == []
    settings = ["keepalive_seconds", "max_connection_idle_seconds", "max_connection_age_seconds"]
    assert [name for name in settings if f"`{name}`" not in deploying] == []


def test_every_optional_field_a_request_carries_says_what_its_absence_means() -> None:
    # AIP-203: a field's behaviour is documented with it. Budget.top_k said "Number of
    # recommendations to return" and time_limit_seconds nothing of its default or bound, so a
    # caller reading the contract learned neither the 5 designs nor the 10 s it gets.
    from google.protobuf.descriptor import Descriptor

    from advisor.protocol._proto.advisor.v1 import advisor_pb2

    proto = ROOT / "protos" / "advisor" / "v1" / "advisor.proto"
    lines = proto.read_text(encoding="utf-8").splitlines()
    seen: set[str] = set()
    silent: list[str] = []

    def visit(message: Descriptor) -> None:
        if message.full_name in seen:
            return
        seen.add(message.full_name)
        start = next(
            i for i, line in enumerate(lines) if line.startswith(f"message {message.name} ")
        )
        for field in message.fields:
            if field.message_type is not None:
                visit(field.message_type)
            elif field.containing_oneof and field.containing_oneof.name == f"_{field.name}":
                # A proto3 optional field (its synthetic oneof), not a member of a real one.
                index = next(
                    i
                    for i in range(start, len(lines))
                    if lines[i].strip().endswith(f" {field.name} = {field.number};")
                )
                comment: list[str] = []
                while lines[index - 1 - len(comment)].strip().startswith("//"):
                    comment.append(lines[index - 1 - len(comment)])
                if not re.search(r"\b(absent|Absent)\b", " ".join(comment)):
                    silent.append(f"{message.name}.{field.name}")

    for name, message in advisor_pb2.DESCRIPTOR.message_types_by_name.items():
        if name.endswith("Request"):
            visit(message)
    assert not silent, f"optional request fields whose comment says no 'absent': {silent}"
