"""FinishSearch: how soon a named search answers once asked to finish, and with what.

A one-slot server of each executor runs a search of ``tests.support.workloads.LONG_TASK`` (tens of
seconds, under a 30 s time limit), named; once it runs, ``FinishSearch`` asks it to finish, and
the bench times the ask's own answer and the search's, and counts the designs the search returned
(``tests/service/test_finish_search.py`` asserts on what happens; this measures how fast).
``--write-docs`` records the figures in docs/RELIABILITY.md.

    python -m bench.finish --trials 5 --write-docs
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from advisor_client.client import AdvisorClient

from advisor.model.results import SearchResult
from advisor.protocol import wire
from advisor.service.server import RunningServer, ServerConfig, start_server
from bench.report import add_write_option, command_parser, positive_int, update_section
from tests.support.workloads import LONG_TASK, long_budget

__all__ = ["main"]

_TIME_LIMIT_SECONDS = 30.0


@dataclass(frozen=True)
class Finished:
    """One trial: the ask's own answer, the search's answer after the ask, and its result."""

    ask_seconds: float
    answer_seconds: float
    designs: int
    complete: bool


def _trial(client: AdvisorClient, server: RunningServer, name: str) -> Finished:
    """Run a named search, ask it to finish once it runs, and time both answers."""
    answered: list[SearchResult] = []
    task, budget = wire.task_from_proto(LONG_TASK), wire.budget_from_proto(long_budget())
    search = threading.Thread(
        target=lambda: answered.append(client.recommend(task, budget, search_id=name))
    )
    search.start()
    while server.in_flight == 0:
        time.sleep(0.001)
    asked = time.monotonic()
    if not client.finish_search(name):
        raise RuntimeError(f"the running search {name!r} was not found")
    ask_seconds = time.monotonic() - asked
    search.join()
    (result,) = answered
    return Finished(
        ask_seconds, time.monotonic() - asked, len(result.recommendations), result.complete
    )


def _runs(executor: str, trials: int) -> list[Finished]:
    with (
        start_server(ServerConfig(port=0, workers=1, executor=executor)) as server,
        AdvisorClient(server.address, default_timeout=_TIME_LIMIT_SECONDS + 30) as client,
    ):
        return [_trial(client, server, f"bench-{executor}-{i}") for i in range(trials)]


def main(argv: Sequence[str] | None = None) -> int:
    """Measure, print (optionally publish) the figures; exit 1 if a search was not cut short."""
    parser = command_parser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=positive_int, default=5, help="searches per executor")
    add_write_option(parser, "RELIABILITY.md")
    args = parser.parse_args(argv)
    rows = [
        "| executor | FinishSearch answered, max ms | search answered after the ask, s "
        "(min-max) | designs | complete |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    ok = True
    for executor in ("processes", "threads"):
        runs = _runs(executor, args.trials)
        answers = [run.answer_seconds for run in runs]
        ok &= max(answers) < _TIME_LIMIT_SECONDS / 2 and not any(run.complete for run in runs)
        rows.append(
            f"| {executor} | {max(run.ask_seconds for run in runs) * 1000:.0f} "
            f"| {min(answers):.2f}-{max(answers):.2f} "
            f"| {', '.join(sorted({str(run.designs) for run in runs}))} "
            f"| {', '.join(sorted({str(run.complete).lower() for run in runs}))} |"
        )
        print(rows[-1], flush=True)
    report = "\n".join(rows) + (
        f"\n\n{args.trials} searches per executor on a one-slot server, each of tens of seconds "
        f"under a {_TIME_LIMIT_SECONDS:g} s time limit, asked to finish once running; the search "
        "plans its last builds within the 1 s it is given."
    )
    print(report)
    if args.write_docs:
        command = f"python -m bench.finish --trials {args.trials}"
        update_section(args.docs_file, "finish", f"`{command}`\n\n{report}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
