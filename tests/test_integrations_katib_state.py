"""What the Katib endpoint handed out, kept in files (``--katib-data-dir``): a restart keeps it.

Katib's ``resumePolicy: FromVolume`` mounts a volume into the suggestion service; a learning
call hands designs out of the sequence's order, and one whose trial Katib has not made yet is
in no request's trials: only the service's record says it was handed out.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import grpc
import pydantic
import pytest

from advisor.errors import StoppedError
from advisor.integrations.katib import (
    HandedOutFiles,
    KatibSearch,
    Suggestion,
    SuggestionCache,
    read_experiment,
    search_digest,
    suggestions,
)
from advisor.integrations.katib import records as records_module
from advisor.integrations.katib.records import whole_search_digest
from advisor.integrations.katib.trials import architecture_json
from advisor.model.budget import Budget
from advisor.model.results import SearchResult
from advisor.model.task import Task
from advisor.protocol._proto.katib.v1beta1 import api_pb2, api_pb2_grpc
from advisor.search import recommend as recommend_module
from advisor.service.command import main as server_main
from advisor.service.katib_server import start_katib_server
from advisor.service.options import BAD_OPTION_EXIT_STATUS, START_FAILED_EXIT_STATUS
from advisor.stopping import StopSignal
from tests.service.test_config import _config_of
from tests.test_integrations_katib import (
    _from_position_one,
    _learning_experiment,
    _outer_rewarded,
    _ranks_asked,
    _three_observed,
)


def _learning(name: str = "kept") -> tuple[KatibSearch, set[str], dict[str, float]]:
    """The learning search of experiment ``name``, its trials' designs 1-3 and their values.

    Its first call from place 3 hands out designs 5 and 4 (the values favour 5), as
    tests/test_integrations_katib.py shows.
    """
    experiment = _learning_experiment()
    experiment.name = name
    search = read_experiment(experiment)
    ranked = _from_position_one(search, 0, 8)
    return search, {architecture_json(s.architecture) for s in ranked[:3]}, _outer_rewarded(ranked)


def _positions(search: KatibSearch, start: int, cache: SuggestionCache) -> list[int]:
    """The positions of 2 designs from place ``start``, the trials still designs 1-3."""
    _, held, observed = _learning(search.experiment)
    picked = suggestions(search, start, 2, held, observed=observed, cache=cache)
    return [s.position for s in picked]


def _sha256(design: Suggestion) -> str:
    """The design's sha256, as a record file keeps it: of its architecture JSON."""
    return hashlib.sha256(architecture_json(design.architecture).encode()).hexdigest()


def _on(directory: Path, **bounds: int) -> SuggestionCache:
    """A new cache, as a restarted service has, keeping its record in ``directory``."""
    return SuggestionCache(**bounds, files=HandedOutFiles(directory))


def test_a_new_cache_on_the_directory_skips_what_the_last_one_handed_out(tmp_path: Path) -> None:
    search, _, _ = _learning()
    assert _positions(search, 3, _on(tmp_path)) == [5, 4]
    # Katib asks for places 5 and 6 before it made the trials of designs 5 and 4. A restarted
    # service without the files hands them out again; with them, it skips them.
    assert _positions(search, 5, SuggestionCache()) == [5, 4]
    assert _positions(search, 5, _on(tmp_path)) == [6, 7]
    # Katib asking again for the places of a lost answer gets that answer after a restart too.
    assert _positions(search, 5, _on(tmp_path)) == [6, 7]


def test_an_experiment_created_again_under_its_name_replaces_the_old_ones_record(
    tmp_path: Path,
) -> None:
    # Deleted and created again under its name and settings on a directory shared by hand, the
    # experiment finds the old one's file; Katib's first call of a new experiment is at place 0,
    # which replaces the record, so the designs handed to the old one are not skipped.
    search, _, _ = _learning()
    assert _positions(search, 3, _on(tmp_path)) == [5, 4]  # handed to the old experiment
    again = _on(tmp_path)
    assert [s.position for s in suggestions(search, 0, 3, set(), cache=again)] == [1, 2, 3]
    assert _positions(search, 3, again) == [5, 4]
    ranked = _from_position_one(search, 0, 5)
    record = json.loads(next(tmp_path.glob("handed-out-*.json")).read_text())
    assert record["handed"] == [[p, _sha256(ranked[i])] for p, i in enumerate((0, 1, 2, 4, 3))]


def test_an_evicted_sequence_reads_its_record_back(tmp_path: Path) -> None:
    # With no bytes to keep, every call's sequence is evicted after it (as a large one is).
    search, _, _ = _learning()
    cache = _on(tmp_path, max_bytes=0)
    assert _positions(search, 3, cache) == [5, 4]
    assert search not in cache
    assert _positions(search, 5, cache) == [6, 7]
    evicting = SuggestionCache(max_bytes=0)
    assert _positions(search, 3, evicting) == [5, 4]
    assert _positions(search, 5, evicting) == [5, 4]  # the record went with the sequence


def _ranks_on_a_new_endpoint(
    directory: Path,
    experiment: api_pb2.Experiment,
    trials: list[api_pb2.Trial],
    total: int,
    namespace: str | None = None,
) -> list[str]:
    """Start a Katib endpoint on ``directory`` (of ``namespace``), ask it two designs, stop it.

    The call brings Katib's count to ``total``; returns the designs' ranks.
    """
    server = start_katib_server("127.0.0.1", 0, workers=1, data_dir=directory, namespace=namespace)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub = api_pb2_grpc.SuggestionStub(channel)
            return _ranks_asked(stub, experiment, trials, total)
    finally:
        server.stop(0)


def test_a_restarted_katib_endpoint_on_its_data_dir_hands_out_other_designs(
    tmp_path: Path,
) -> None:
    experiment, trials = _three_observed("restarted")
    # One server per call: the second starts where the first stopped.
    ranks = [_ranks_on_a_new_endpoint(tmp_path, experiment, trials, total) for total in (5, 7)]
    assert ranks == [["5", "4"], ["6", "7"]]


def test_experiments_of_one_name_in_two_namespaces_keep_records_of_their_own(
    tmp_path: Path,
) -> None:
    # Katib runs each experiment's suggestion service in the experiment's namespace; two
    # experiments named alike there, on one directory shared by hand, shared one record file:
    # team-b's first call replaced team-a's record, and team-a's restarted service then handed
    # out again designs 5 and 4, whose trials Katib had not made yet.
    experiment, trials = _three_observed("shared")
    assert _ranks_on_a_new_endpoint(tmp_path, experiment, trials, 5, "team-a") == ["5", "4"]
    assert _ranks_on_a_new_endpoint(tmp_path, experiment, [], 2, "team-b") == ["1", "2"]
    assert _ranks_on_a_new_endpoint(tmp_path, experiment, trials, 7, "team-a") == ["6", "7"]
    records = [json.loads(p.read_text()) for p in tmp_path.glob("handed-out-*.json")]
    assert sorted((r["namespace"], [p for p, _ in r["handed"]]) for r in records) == [
        ("team-a", [3, 4, 5, 6]),
        ("team-b", [0, 1]),
    ]


def test_a_record_written_without_a_namespace_is_read_under_one(tmp_path: Path) -> None:
    # A service upgraded and given --katib-namespace while its experiment runs finds the record
    # it wrote without one, and writes on under the namespace, leaving the old file to any
    # other namespace's experiment of that name.
    experiment, trials = _three_observed("upgraded")
    assert _ranks_on_a_new_endpoint(tmp_path, experiment, trials, 5) == ["5", "4"]
    [earlier] = tmp_path.glob("handed-out-*.json")
    assert _ranks_on_a_new_endpoint(tmp_path, experiment, trials, 7, "team-a") == ["6", "7"]
    assert "namespace" not in json.loads(earlier.read_text())
    [record] = [json.loads(p.read_text()) for p in tmp_path.glob("*.json") if p != earlier]
    assert (record["namespace"], [p for p, _ in record["handed"]]) == ("team-a", [3, 4, 5, 6])
    assert _ranks_on_a_new_endpoint(tmp_path, experiment, trials, 9, "team-a") == ["8", "9"]


@pytest.mark.parametrize(
    ("one", "other"),
    [(("a", "b/c"), ("a/b", "c")), (("", "x"), ("x", "")), (("../..", "x"), ("..", "../x"))],
)
def test_a_namespace_and_a_name_choose_no_path_and_no_other_pair_s_file(
    one: tuple[str, str], other: tuple[str, str], tmp_path: Path
) -> None:
    paths = [HandedOutFiles(tmp_path, ns).path("0" * 64, name) for ns, name in (one, other)]
    assert paths[0] != paths[1]
    assert [p.parent for p in paths] == [tmp_path, tmp_path]


_DESIGN = "a" * 64  # a design's sha256, as a record file holds it


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("not JSON", "{'handed': [[3, 5]]", "Expecting property name"),
        ("no record", "[[3, 5], [4, 4]]", "not a record: no 'handed' list"),
        (
            "an earlier format's, of positions",
            json.dumps({"experiment": "kept", "search": "{search}", "handed": [[3, 5]]}),
            "its format is None, not 1",
        ),
        (
            "another experiment's",
            json.dumps(
                {"format": 1, "experiment": "other", "search": "{search}", "handed": [[3, _DESIGN]]}
            ),
            "its experiment is 'other', not 'kept'",
        ),
        (
            "a position for a design",
            json.dumps(
                {"format": 1, "experiment": "kept", "search": "{search}", "handed": [[3, 5]]}
            ),
            "[3, 5] is no [place, design sha256] pair",
        ),
        (
            "a negative place",
            json.dumps(
                {"format": 1, "experiment": "kept", "search": "{search}", "handed": [[-1, _DESIGN]]}
            ),
            "is no [place, design sha256] pair",
        ),
        ("a directory in its place", None, "Is a directory"),
    ],
)
def test_a_record_file_that_cannot_be_read_is_logged_naming_it_and_the_call_goes_on(
    name: str,
    content: str | None,
    problem: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    search, _, _ = _learning()
    digest = search_digest(search)
    path = HandedOutFiles(tmp_path).path(digest, "kept")
    if content is None:
        path.mkdir()
    else:
        path.write_text(content.replace("{search}", digest))
    with caplog.at_level(logging.ERROR, logger=records_module.__name__):
        # The record starts afresh: designs 5 and 4 come again, and the log says so.
        assert _positions(search, 5, _on(tmp_path)) == [5, 4]
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert logged, name
    assert str(path) in logged[0]
    assert problem in logged[0]
    assert "may be handed out again" in logged[0]
    if content is not None:  # the call's record replaced the file: the next service reads it
        assert _positions(search, 7, _on(tmp_path)) == [6, 7]


def test_a_record_file_over_its_size_bound_is_not_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    search, _, _ = _learning()
    assert _positions(search, 3, _on(tmp_path)) == [5, 4]
    [path] = tmp_path.iterdir()
    monkeypatch.setattr(records_module, "MAX_HANDED_OUT_FILE_BYTES", path.stat().st_size - 1)
    with caplog.at_level(logging.ERROR, logger=records_module.__name__):
        assert _positions(search, 5, _on(tmp_path)) == [5, 4]
    assert (
        f"it is longer than {path.stat().st_size - 1:,} bytes, more than a record holds"
        in caplog.text
    )


@pytest.mark.parametrize("name", ["../../x", "/etc/x", "a/../../b", "..", ""])
def test_an_experiment_name_chooses_no_path(name: str, tmp_path: Path) -> None:
    directory = tmp_path / "data"
    directory.mkdir()
    search, _, _ = _learning(name)
    assert _positions(search, 3, _on(directory)) == [5, 4]
    files = [p for p in tmp_path.rglob("*") if p != directory]
    assert [p.parent for p in files] == [directory]
    assert files[0].name.startswith("handed-out-")
    record = json.loads(files[0].read_text())
    ranked = _from_position_one(search, 0, 5)
    assert record == {
        "format": 1,
        "experiment": name,
        "search": search_digest(search),
        "handed": [[3, _sha256(ranked[4])], [4, _sha256(ranked[3])]],
    }


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda path: None, "No such file or directory"),
        (lambda path: path.write_text("a file\n"), "Not a directory"),
    ],
)
def test_a_data_dir_that_takes_no_file_is_refused_at_start_naming_the_option(
    make: Callable[[Path], object], reason: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    make(data)
    options = ["--katib-port", "0", "--katib-data-dir", str(data)]
    assert server_main(options) == START_FAILED_EXIT_STATUS
    expected = f"advisor-server: error: --katib-data-dir: cannot write in {data}: {reason}\n"
    assert capsys.readouterr().err == expected


def test_the_data_dir_needs_the_katib_endpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert server_main(["--katib-data-dir", str(tmp_path)]) == BAD_OPTION_EXIT_STATUS
    assert (
        capsys.readouterr().err == "advisor-server: error: --katib-data-dir: needs --katib-port\n"
    )
    config = tmp_path / "server.yaml"
    config.write_text(f"katib_data_dir: {tmp_path}\n")
    assert server_main(["--config", str(config)]) == BAD_OPTION_EXIT_STATUS
    err = capsys.readouterr().err
    assert err == "advisor-server: error: --config katib_data_dir: needs --katib-port\n"


def test_the_config_file_sets_the_data_dir_and_the_option_overrides_it(tmp_path: Path) -> None:
    config = tmp_path / "server.yaml"
    config.write_text("katib_data_dir: /opt/katib/data\n")
    assert _config_of().katib_data_dir is None
    assert _config_of("--config", str(config)).katib_data_dir == Path("/opt/katib/data")
    overridden = _config_of("--config", str(config), "--katib-data-dir", str(tmp_path))
    assert overridden.katib_data_dir == tmp_path


@pytest.mark.parametrize(
    ("options", "error"),
    [
        (
            ["--katib-port", "0", "--katib-namespace", "team-a"],
            "--katib-namespace: needs --katib-data-dir (it names the records kept there)",
        ),
        (
            ["--katib-port", "0", "--katib-data-dir", "{data}", "--katib-namespace", "$(NS)"],
            "--katib-namespace: '$(NS)' is no Kubernetes namespace (lowercase letters, digits "
            "and '-', starting and ending with a letter or digit, at most 63 characters)",
        ),
        (
            ["--katib-port", "0", "--katib-data-dir", "{data}", "--katib-namespace", "a" * 64],
            f"--katib-namespace: '{'a' * 64}' is no Kubernetes namespace",
        ),
    ],
)
def test_a_namespace_that_names_no_record_is_refused_naming_the_option(
    options: list[str], error: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    given = [o.replace("{data}", str(tmp_path)) for o in options]
    assert server_main(given) == BAD_OPTION_EXIT_STATUS
    assert capsys.readouterr().err.startswith(f"advisor-server: error: {error}")


def test_the_config_file_sets_the_namespace_and_the_option_overrides_it(tmp_path: Path) -> None:
    config = tmp_path / "server.yaml"
    config.write_text(f"katib_data_dir: {tmp_path}\nkatib_namespace: team-a\n")
    assert _config_of().katib_namespace is None
    assert _config_of("--config", str(config)).katib_namespace == "team-a"
    overridden = _config_of("--config", str(config), "--katib-namespace", "team-b")
    assert overridden.katib_namespace == "team-b"


def test_a_restart_that_ranks_otherwise_skips_the_designs_handed_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    search, held, observed = _learning()
    first = suggestions(search, 3, 2, held, observed=observed, cache=_on(tmp_path))
    handed = {architecture_json(s.architecture) for s in first}
    assert [s.position for s in first] == [5, 4]
    # The restarted service's ranking, under another time limit's cut, comes out in another
    # order: here its first design last, so designs 4 and 5 are at positions 3 and 4.
    ranking = recommend_module.recommend

    def rotated(task: Task, budget: Budget, **options: Any) -> SearchResult:
        result = ranking(task, budget, **options)
        designs = result.recommendations[1:] + result.recommendations[:1]
        renumbered = [replace(r, rank=i) for i, r in enumerate(designs, 1)]
        return replace(result, recommendations=renumbered)

    monkeypatch.setattr(recommend_module, "recommend", rotated)
    again = suggestions(search, 5, 2, held, observed=observed, cache=_on(tmp_path))
    # The designs handed out are skipped, wherever they are now, as if their trials were held.
    assert not handed & {architecture_json(s.architecture) for s in again}
    expected = suggestions(search, 5, 2, held | handed, observed=observed)
    assert [architecture_json(s.architecture) for s in again] == [
        architecture_json(s.architecture) for s in expected
    ]


def test_a_sequence_a_call_holds_is_not_evicted(tmp_path: Path) -> None:
    search, _, _ = _learning()
    other = replace(search, budget=search.budget.model_copy(update={"seed": 7}))
    assert search_digest(other) != search_digest(search)
    cache = _on(tmp_path, max_experiments=1)
    with cache.sequence(search, StopSignal()):
        # Another search's call ends over the bound: the sequence no call holds is the one to go.
        suggestions(other, 0, 1, cache=cache)
        assert search in cache
        assert other not in cache
        # So a second call on the search waits for the sequence held (here it stops, its signal
        # stopped) instead of building another, which would read the record before this call
        # writes it and overwrite it after: a lost update.
        stopped = StopSignal()
        stopped.cancel()
        with pytest.raises(StoppedError), cache.sequence(search, stopped):
            pass
    assert len(cache) == 1
    assert search in cache


def test_a_record_written_is_synced_and_so_is_its_name_in_the_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[bool] = []  # per fsync: whether it was of the directory
    fsync = os.fsync

    def recording(descriptor: int) -> None:
        synced.append(os.path.samestat(os.fstat(descriptor), tmp_path.stat()))
        fsync(descriptor)

    monkeypatch.setattr(os, "fsync", recording)
    search, _, _ = _learning()
    assert _positions(search, 3, _on(tmp_path)) == [5, 4]
    # The file's contents, then the directory, which holds the name os.replace gave it.
    assert synced == [False, True]


def test_a_directory_that_refuses_a_sync_still_takes_the_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fsync = os.fsync

    def refusing(descriptor: int) -> None:
        if os.path.samestat(os.fstat(descriptor), tmp_path.stat()):
            raise OSError(errno.EINVAL, "Invalid argument")
        fsync(descriptor)

    monkeypatch.setattr(os, "fsync", refusing)
    search, _, _ = _learning()
    assert _positions(search, 3, _on(tmp_path)) == [5, 4]
    assert _positions(search, 5, _on(tmp_path)) == [6, 7]


def test_the_endpoint_removes_the_temporary_files_a_crash_left_at_start(tmp_path: Path) -> None:
    left = [tmp_path / ".handed-out-k3j9x2", tmp_path / ".probe-a8b7c6"]
    kept = [tmp_path / "handed-out-0123.json", tmp_path / ".handed-out", tmp_path / "notes.txt"]
    for path in left + kept:
        path.write_text("{}")
    (tmp_path / ".probe-dir").mkdir()  # not a file: no service's, left alone
    server = start_katib_server("127.0.0.1", 0, workers=1, data_dir=tmp_path)
    server.stop(0)
    assert sorted(tmp_path.iterdir()) == sorted([*kept, tmp_path / ".probe-dir"])


def _left_mid_write(files: HandedOutFiles, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary file ``files``' service leaves when stopped in the middle of a write."""
    left: list[Path] = []

    def stopped(path: Path, text: str, prefix: str) -> None:
        left.append(path.parent / f"{prefix}0123456789abcdef")
        left[0].write_text(text)
        raise OSError(errno.EINTR, "stopped before os.replace")

    with monkeypatch.context() as patched:
        patched.setattr(records_module, "replace_file", stopped)
        files.write("0" * 64, "shared", {0: _DESIGN})
    return left[0]


def test_a_service_starting_removes_only_the_temporary_files_of_its_namespace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Services of two namespaces on one directory: team-a's start removed the temporary file of
    # team-b's write in progress, whose os.replace then failed, and the record went unwritten.
    writing = _left_mid_write(HandedOutFiles(tmp_path, "team-b"), monkeypatch)
    own = _left_mid_write(HandedOutFiles(tmp_path, "team-a"), monkeypatch)
    earlier = _left_mid_write(HandedOutFiles(tmp_path), monkeypatch)  # before --katib-namespace
    server = start_katib_server("127.0.0.1", 0, workers=1, data_dir=tmp_path, namespace="team-a")
    server.stop(0)
    assert len({writing, own, earlier}) == 3
    assert sorted(tmp_path.iterdir()) == [writing]


def test_a_call_waiting_for_a_sequence_an_error_forgot_takes_the_new_one(tmp_path: Path) -> None:
    # An unforeseen error forgets the sequence (a step may be half done), but a call already
    # waiting for it worked on it anyway while the next call built a new one: two sequences of
    # one search, each writing the experiment's record over the other's.
    search, _, _ = _learning()
    cache = _on(tmp_path)
    taken: list[object] = []

    def waiter() -> None:
        with cache.sequence(search, StopSignal()) as held:
            taken.append(held)

    with pytest.raises(RuntimeError), cache.sequence(search, StopSignal()) as first:
        thread = threading.Thread(target=waiter)
        thread.start()
        while first.callers < 2:  # the waiter is counted before it waits for the lock
            time.sleep(0.001)
        raise RuntimeError("unforeseen")
    thread.join()
    assert taken and taken[0] is not first
    with cache.sequence(search, StopSignal()) as third:
        assert third is taken[0]


def test_an_upgrade_that_adds_a_budget_field_keeps_the_search_s_records() -> None:
    # A later advisor's Budget with one more field, at its default: the same search, whose
    # records an upgraded service on the volume must still find. The whole budget's dump named
    # every record anew, and the upgraded service handed designs 5 and 4 out again.
    search, _, _ = _learning()
    newer = pydantic.create_model("NewerBudget", __base__=Budget, newer_option=(int, 0))
    upgraded = replace(search, budget=newer(**search.budget.model_dump(exclude_unset=True)))
    assert search_digest(upgraded) == search_digest(search)


def test_a_record_an_earlier_advisor_named_by_the_whole_search_is_read(tmp_path: Path) -> None:
    # Records were named by the task and budget dumped whole until the digest left defaults out:
    # a service upgraded past that change reads them, and writes on under the new name.
    search, _, _ = _learning()
    assert whole_search_digest(search) != search_digest(search)
    assert _positions(search, 3, _on(tmp_path)) == [5, 4]
    [path] = tmp_path.iterdir()
    record = json.loads(path.read_text())
    earlier = HandedOutFiles(tmp_path).path(whole_search_digest(search), "kept")
    earlier.write_text(json.dumps({**record, "search": whole_search_digest(search)}))
    path.unlink()
    assert _positions(search, 5, _on(tmp_path)) == [6, 7]
    assert HandedOutFiles(tmp_path).path(search_digest(search), "kept").exists()
