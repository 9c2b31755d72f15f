"""The installed distribution: its package list, the curated API, and a light client import."""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.metadata
import importlib.util
import posixpath
import re
import shutil
import subprocess
import sys
import tarfile
import textwrap
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

import advisor

ROOT = Path(__file__).resolve().parent.parent


def _pyproject() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)


def _packages_under(folder: Path, name: str) -> set[str]:
    """Return the dotted names of ``folder`` and every folder below it that has an __init__.py."""
    return {
        ".".join([name, *init.parent.relative_to(folder).parts])
        for init in folder.rglob("__init__.py")
    }


def test_setuptools_packages_name_exactly_the_packages_of_the_tree() -> None:
    setuptools = _pyproject()["tool"]["setuptools"]
    mapped = {name: ROOT / folder for name, folder in setuptools["package-dir"].items()}
    assert mapped == {"advisor_client": ROOT / "client"}
    tree = _packages_under(ROOT / "advisor", "advisor") | _packages_under(
        mapped["advisor_client"], "advisor_client"
    )
    listed = setuptools["packages"]
    assert len(listed) == len(set(listed)), "a package is listed twice"
    assert set(listed) == tree


def test_no_top_level_client_package_is_installed() -> None:
    assert not any(
        name.split(".")[0] == "client" for name in _pyproject()["tool"]["setuptools"]["packages"]
    )


def test_curated_api_matches_star_import_and_every_name_resolves() -> None:
    namespace: dict[str, Any] = {}
    exec("from advisor import *", namespace)
    exported = sorted(name for name in namespace if name != "__builtins__")
    assert exported == sorted(advisor.__all__)
    for name in advisor.__all__:
        assert getattr(advisor, name) is namespace[name]
        assert name in dir(advisor)
    # Once loaded, a name is a global too: it was listed twice.
    assert len(dir(advisor)) == len(set(dir(advisor)))


def test_a_type_checker_sees_every_curated_name_and_no_catch_all() -> None:
    # A module __getattr__ typed "-> Any" let a caller's mypy --strict pass
    # `from advisor import recomend` and `advisor.analyse(1, 2, 3)`: the lazy lookup is hidden
    # from type checkers, which see every curated name imported under TYPE_CHECKING instead.
    tree = ast.parse((ROOT / "advisor" / "__init__.py").read_text(encoding="utf-8"))
    typed: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            typed |= {
                alias.asname or alias.name
                for statement in node.body
                if isinstance(statement, ast.ImportFrom)
                for alias in statement.names
            }
    assert typed == {*advisor.__all__, "__version__"}
    visible = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]
    assert "__getattr__" not in visible
    assert isinstance(advisor.__version__, str)
    assert [name for name in dir(advisor) if not name.startswith("__")] == sorted(advisor.__all__)


def test_the_curated_apis_docstring_example_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """``help(advisor)`` shows a complete program: every name it uses is imported."""
    assert advisor.__doc__ is not None
    example = advisor.__doc__.split("::\n", 1)[1].split("\n\n", 2)
    code = textwrap.dedent("\n\n".join(example[:2]))
    monkeypatch.chdir(ROOT)
    exec(compile(code, "advisor.__doc__", "exec"), {})


def test_curated_api_refuses_unknown_names() -> None:
    unknown = "no_such_name"  # a type checker refuses it written as an attribute
    with pytest.raises(AttributeError, match=unknown):
        getattr(advisor, unknown)


@pytest.mark.skipif(
    shutil.which("git") is None or not (ROOT / ".git").exists(), reason="not a git checkout"
)
def test_gitignore_lists_no_tracked_file() -> None:
    ignored = subprocess.run(
        ["git", "ls-files", "--cached", "--ignored", "--exclude-standard"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout.split()
    assert ignored == []


def test_no_tracked_file_holds_a_merge_conflict_marker() -> None:
    # git grep: a marker line that a merge left in a doc or a source file is never meant.
    found = subprocess.run(
        ["git", "grep", "-n", "-I", "-E", "^(<{7} |={7}$|>{7} )"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert found.returncode == 1, found.stdout  # 1: no line matched


def _imported_modules(statement: str) -> list[str]:
    """Return every module a fresh interpreter imports to run ``statement`` (-X importtime)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    lines = [line for line in result.stderr.splitlines() if line.startswith("import time:")]
    assert lines, result.stderr
    # "import time: self [us] | cumulative | imported package"; the name is indented by depth.
    return [line.rsplit("|", 1)[1].strip() for line in lines[1:]]


def test_importing_the_client_loads_neither_the_engine_nor_the_search_nor_flint() -> None:
    modules = _imported_modules("import advisor_client")
    assert "advisor_client" in modules
    heavy = [
        name
        for name in modules
        if name.split(".")[0] == "flint" or name.startswith(("advisor.seprank", "advisor.search"))
    ]
    assert heavy == []


@dataclass(frozen=True)
class _Distributions:
    """What ``python -m build`` makes of the tracked tree: the sdist's and the wheel's file names.

    The sdist's names are relative to its top folder (``architecture_advisor-0.1.0/``).
    """

    sdist: frozenset[str]
    wheel: frozenset[str]


def _build_backend(hook: str, source: Path, out: Path) -> Path:
    """Run setuptools' PEP 517 ``hook`` (build_sdist or build_wheel) in ``source``, into ``out``."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys; from setuptools import build_meta; print(build_meta.{hook}(sys.argv[1]))",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=source,
    )
    return out / result.stdout.splitlines()[-1]


@pytest.fixture(scope="module")
def distributions(tmp_path_factory: pytest.TempPathFactory) -> _Distributions:
    """Build the sdist from a copy of the tracked files, then the wheel from the sdist, as
    ``python -m build`` does (so a file the sdist leaves out is missing from the wheel too)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    (backend,) = map(Requirement, _pyproject()["build-system"]["requires"])
    try:
        installed = importlib.metadata.version(backend.name)
    except importlib.metadata.PackageNotFoundError:
        installed = None
    if installed is None or not backend.specifier.contains(installed):
        # The dev extra brings it (grpcio-tools requires setuptools >= 77).
        pytest.skip(f"needs the build backend {backend}, found {installed}")
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split("\0")
    tree = tmp_path_factory.mktemp("tree")
    for name in filter(None, tracked):
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, tree / name, follow_symlinks=False)
    out = tmp_path_factory.mktemp("dist")
    sdist = _build_backend("build_sdist", tree, out)
    unpacked = tmp_path_factory.mktemp("sdist")
    with tarfile.open(sdist) as archive:
        archive.extractall(unpacked, filter="data")
        members = [member.name.split("/", 1) for member in archive.getmembers() if member.isfile()]
    (top,) = unpacked.iterdir()
    wheel = _build_backend("build_wheel", top, out)
    with zipfile.ZipFile(wheel) as archive:
        wheel_files = frozenset(archive.namelist())
    return _Distributions(frozenset(name for _, name in members), wheel_files)


def test_the_wheel_carries_the_licence_of_the_vendored_katib_api(
    distributions: _Distributions,
) -> None:
    # The Katib stubs are generated from Katib's Apache-2.0 api.proto: its licence goes with them.
    licences = {name.split("/", 2)[2] for name in distributions.wheel if "/licenses/" in name}
    assert "protos/katib/LICENSE" in licences
    assert "protos/katib/LICENSE" in distributions.sdist


def test_the_distributions_carry_the_projects_licence_text(distributions: _Distributions) -> None:
    # pyproject.toml declares Apache-2.0; a packager needs the text itself beside the declaration.
    assert _pyproject()["project"]["license"] == "Apache-2.0"
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    licences = {name.split("/", 2)[2] for name in distributions.wheel if "/licenses/" in name}
    assert "LICENSE" in licences
    assert "LICENSE" in distributions.sdist


def test_the_sdist_holds_the_protos_and_examples_and_no_partial_test_suite(
    distributions: _Distributions,
) -> None:
    for name in (
        "README.md",
        "protos/advisor/v1/advisor.proto",
        "protos/katib/v1beta1/api.proto",
        "protos/katib/README.md",
        "protos/generate.sh",
        "examples/symmetry.yaml",
        "examples/architectures/mirror.yaml",
    ):
        assert name in distributions.sdist
    assert not [name for name in distributions.sdist if name.startswith("tests/")]
    assert not [name for name in distributions.sdist if "__pycache__" in name]


def test_the_sdist_holds_every_script_the_readme_runs(distributions: _Distributions) -> None:
    # README's "python server.py" (the service alone) found no server.py in the unpacked sdist.
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    scripts = set(re.findall(r"\bpython ([\w/]+\.py)\b", readme))
    assert "server.py" in scripts
    assert sorted(scripts - distributions.sdist) == []


def _in_sdist(target: str, sdist: frozenset[str]) -> bool:
    """Return whether ``target``, a file or a folder, is in the sdist."""
    return target in sdist or any(name.startswith(f"{target}/") for name in sdist)


def test_the_sdist_holds_what_the_readme_links_and_the_messages_cite(
    distributions: _Distributions,
) -> None:
    # The unpacked sdist had no docs/: README's links to docs/CLI.md and docs/SERVICE.md were
    # dead, and so were the "docs/FORMATS.md §1" the program's messages send a reader to.
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = {
        target.partition("#")[0]
        for target in re.findall(r"\]\(([^)\s]+)\)", readme)
        if "://" not in target and not target.startswith("#")
    }
    cited = {
        name
        for source in [*ROOT.glob("advisor/**/*.py"), *ROOT.glob("client/**/*.py")]
        for name in re.findall(r"\bdocs/[A-Z]+\.md\b", source.read_text(encoding="utf-8"))
    }
    assert "docs/CLI.md" in links and "docs/FORMATS.md" in cited
    missing = [name for name in sorted(links | cited) if not _in_sdist(name, distributions.sdist)]
    assert missing == []
    docs = [name for name in distributions.sdist if name.startswith("docs/")]
    for doc in (name for name in docs if name.endswith(".md")):
        # A doc's own links (its figures, ../examples) resolve in the sdist as well.
        text = (ROOT / doc).read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s#:]+)(?:#[^)]*)?\)", text):
            resolved = posixpath.normpath(posixpath.join("docs", target))
            assert _in_sdist(resolved, distributions.sdist), f"{doc}: {target}"
    # They stay out of the wheel, which installs the two packages and their metadata alone.
    tops = {name.split("/", 1)[0] for name in distributions.wheel}
    metadata = f"architecture_advisor-{_pyproject()['project']['version']}.dist-info"
    assert tops == {"advisor", "advisor_client", metadata}


def test_the_classifiers_say_the_packages_are_typed_and_name_only_pythons_it_requires() -> None:
    project = _pyproject()["project"]
    classifiers: list[str] = project["classifiers"]
    package_data = _pyproject()["tool"]["setuptools"]["package-data"]
    assert all("py.typed" in package_data[name] for name in ("advisor", "advisor_client"))
    assert "Typing :: Typed" in classifiers
    prefix = "Programming Language :: Python :: "
    versions = [name.removeprefix(prefix) for name in classifiers if name.startswith(prefix + "3.")]
    assert versions, "no Python version is named"
    assert all(SpecifierSet(project["requires-python"]).contains(f"{v}.0") for v in versions)


# Releases of a dependency that its requirement admitted but that fail the product, each with why.
_BROKEN_RELEASES = {
    # 2.7.0 could not build the models (a strict constraint on a before-validator); up to 2.10 a
    # deferred-build model nested in another had no serializer: Task.model_dump raised TypeError
    # ('MockValSer' object cannot be converted to 'SchemaSerializer'), so did recommend --save-task.
    "pydantic": ["2.7.0", "2.8.2", "2.9.2", "2.10.6"],
}


def test_the_dependency_requirements_exclude_the_releases_known_to_fail() -> None:
    requirements = {
        requirement.name: requirement
        for requirement in map(Requirement, _pyproject()["project"]["dependencies"])
    }
    for name, releases in _BROKEN_RELEASES.items():
        specifier = requirements[name].specifier
        admitted = [release for release in releases if specifier.contains(release)]
        assert admitted == [], f"{name}: {specifier} admits {admitted}"


def test_importing_the_optuna_integration_without_its_extra_names_the_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # It said only "No module named 'optuna'", where the PyTorch export named its extra.
    monkeypatch.setitem(sys.modules, "optuna", None)
    # With the integration's modules (optuna_trials.py, ...), which import optuna at load: one an
    # earlier test loaded would let the import through.
    for name in [name for name in sys.modules if name.startswith("advisor.integrations.optuna")]:
        monkeypatch.delitem(sys.modules, name)
    with pytest.raises(ModuleNotFoundError) as raised:
        importlib.import_module("advisor.integrations.optuna")
    assert raised.value.name == "optuna"
    assert "the optional 'optuna' extra" in str(raised.value)
    # `pip install ".[optuna]"` in a checkout's editable install replaced it with a copy.
    distribution = _pyproject()["project"]["name"]
    assert f'pip install "{distribution}[optuna]" where the advisor was installed' in str(
        raised.value
    )
    assert 'pip install -e ".[optuna]" in its checkout' in str(raised.value)
    assert "optuna" in _pyproject()["project"]["optional-dependencies"]


_SERVICE_NAMES: Final = {"advisor.service.server": {"ServerConfig", "start_server"}}
"""What the README's examples import beside the curated APIs: a server run in-process, the
service's own API, which the library's leaves out."""


def test_the_readme_s_examples_import_only_the_curated_apis() -> None:
    # The client's example imported advisor.infer.combine.with_data and
    # advisor.model.documents.read_document, internals a caller should never need.
    import advisor_client

    curated = {"advisor": set(advisor.__all__), "advisor_client": set(advisor_client.__all__)}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", readme, re.MULTILINE | re.DOTALL)
    imports = [
        (node.module, alias.name)
        for block in blocks
        for node in ast.walk(ast.parse(textwrap.dedent(block)))
        if isinstance(node, ast.ImportFrom) and node.module is not None
        for alias in node.names
        if node.module.split(".")[0] in curated
    ]
    assert ("advisor", "with_data") in imports and ("advisor", "infer_task") in imports
    public = {**curated, **_SERVICE_NAMES}
    assert [(module, name) for module, name in imports if name not in public.get(module, ())] == []


def test_every_model_and_result_type_the_readme_s_library_section_names_is_exported() -> None:
    # It told how to build InputSpec and Layer and named "the result types", but InputSpec,
    # Layer, Correlation, Efficiency and MemberFigure had to be imported from inner modules.
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The library in-process", 1)[1].split("\n### ", 1)[0]
    named = set(re.findall(r"`([A-Z][A-Za-z]*)[(`.]", section))
    python_s = {"KeyboardInterrupt", "ThreadPoolExecutor", "ValidationError"}
    assert "InputSpec" in named and "Layer" in named
    assert sorted(named - python_s - set(advisor.__all__)) == []
    results = importlib.import_module("advisor.model.results")
    result_types = {name for name in results.__all__ if isinstance(getattr(results, name), type)}
    assert sorted(result_types - set(advisor.__all__)) == []


_EXTRA_MODULES: Final = {
    "advisor/export/torch_net.py",
    "advisor/export/torch_mixture.py",
    "advisor/integrations/optuna_pruner.py",
    "advisor/integrations/optuna_sampler.py",
    "advisor/integrations/optuna_studies.py",
    "advisor/integrations/optuna_suggest.py",
    "advisor/integrations/optuna_trials.py",
}
"""Modules of the core's packages that are an optional extra's part (``torch``, ``optuna``),
loaded only through it (``advisor.integrations.optuna`` imports its modules under
``extra_needed``)."""

_PINNED_BY: Final = {"pydantic-core": "pydantic"}
"""Distributions the core imports that a declared one pins to one release, as part of its API."""


def _module(module: str) -> bool:
    """Return whether ``module`` names an importable module (not a name inside one)."""
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a dotted name under a module that is no package
        return False


_TOP_LEVEL_DISTRIBUTIONS = functools.cache(importlib.metadata.packages_distributions)
"""The installed distributions of each top-level import name, read once."""


@functools.cache
def _distribution_files(name: str) -> tuple[Path, frozenset[str]]:
    """Return where distribution ``name`` is installed and its files' paths there."""
    distribution = importlib.metadata.distribution(name)
    files = frozenset(file.as_posix() for file in distribution.files or ())
    return Path(str(distribution.locate_file(""))), files


@functools.cache
def _distribution_of(module: str) -> str:
    """Return the installed distribution whose files hold ``module``, canonically named."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None, module
    origin = Path(spec.origin)
    # A top-level name may be several distributions': google.protobuf and google.rpc.
    for name in _TOP_LEVEL_DISTRIBUTIONS().get(module.partition(".")[0], []):
        base, files = _distribution_files(name)
        if origin.is_relative_to(base) and origin.relative_to(base).as_posix() in files:
            return canonicalize_name(name)
    raise AssertionError(f"{module}: no installed distribution holds {origin}")


_OWN_MODULES: Final = frozenset({"advisor", "advisor_client", "tests", "bench", "server"})
"""The project's own top-level modules, which no distribution but the checkout holds."""


def _imported_distributions(path: Path) -> set[str]:
    """Return the distributions ``path`` imports from when it loads (its module-level imports)."""
    found = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            # `from m import n`: n is a submodule (google.rpc's code_pb2) or a name of m.
            modules = [
                f"{node.module}.{alias.name}"
                if _module(f"{node.module}.{alias.name}")
                else node.module
                for alias in node.names
            ]
        else:
            continue
        for module in modules:
            top = module.partition(".")[0]
            if top not in sys.stdlib_module_names and top not in _OWN_MODULES:
                found.add(_distribution_of(module))
    return found


def test_every_distribution_the_core_imports_at_load_is_a_declared_dependency() -> None:
    # advisor/service/status.py imports google.rpc (googleapis-common-protos), which arrived only
    # as a dependency of grpcio-status, at whatever release that admits.
    declared = {
        canonicalize_name(Requirement(requirement).name)
        for requirement in _pyproject()["project"]["dependencies"]
    }
    sources = [*ROOT.glob("advisor/**/*.py"), *ROOT.glob("client/**/*.py"), ROOT / "server.py"]
    undeclared: dict[str, list[str]] = {}
    for source in sources:
        relative = source.relative_to(ROOT).as_posix()
        if relative in _EXTRA_MODULES:
            continue
        for distribution in _imported_distributions(source):
            if _PINNED_BY.get(distribution, distribution) not in declared:
                undeclared.setdefault(distribution, []).append(relative)
    assert undeclared == {}


def _skips_without_an_extra(path: Path) -> bool:
    """Return whether test module ``path`` calls ``pytest.importorskip`` as it loads."""
    return any(
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr == "importorskip"
        for node in ast.parse(path.read_text(encoding="utf-8")).body
        if isinstance(node, ast.Expr | ast.Assign)
        for call in [node.value]
    )


def test_every_distribution_the_tests_import_at_load_is_a_declared_dependency() -> None:
    # This file imported packaging, which no extra declared: it came only as pytest's dependency.
    project = _pyproject()["project"]
    requirements = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    declared = {canonicalize_name(Requirement(requirement).name) for requirement in requirements}
    undeclared: dict[str, list[str]] = {}
    for source in ROOT.glob("tests/**/*.py"):
        if _skips_without_an_extra(source):
            continue
        for distribution in _imported_distributions(source):
            if _PINNED_BY.get(distribution, distribution) not in declared:
                undeclared.setdefault(distribution, []).append(source.relative_to(ROOT).as_posix())
    assert undeclared == {}
