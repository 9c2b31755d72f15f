"""The start-probe benchmark (bench/start_probes.py): its reading of the checks, and one start.

The figures of docs/SERVICE.md "Deploying" (refused, then NOT_SERVING, then SERVING) come from
it; a reading that let a timed-out check or a regress pass would print them true.
"""

from __future__ import annotations

import pytest

from bench import start_probes
from bench.start_probes import StartRun, probe_start

_WAITED = (1.0, 2.0, True)


def test_a_start_that_is_refused_then_answers_not_serving_then_serving_is_in_order() -> None:
    checks = [(0.0, "UNAVAILABLE"), (0.2, "UNAVAILABLE"), (0.4, "NOT_SERVING"), (0.6, "SERVING")]
    run = StartRun(checks, 0.61, _WAITED)
    assert run.in_order
    assert run.timeouts == 0
    assert run.answers == "UNAVAILABLE x2, NOT_SERVING x1, SERVING x1"
    assert (run.last("UNAVAILABLE"), run.first("NOT_SERVING")) == (0.2, 0.4)


@pytest.mark.parametrize(
    "statuses",
    [
        ["UNAVAILABLE", "DEADLINE_EXCEEDED", "NOT_SERVING", "SERVING"],  # a check timed out
        ["UNAVAILABLE", "NOT_SERVING", "UNAVAILABLE", "SERVING"],  # refused after an answer
        ["NOT_SERVING", "SERVING", "NOT_SERVING"],  # served, then not
        ["UNAVAILABLE", "NOT_SERVING"],  # never served
    ],
)
def test_a_start_with_a_timeout_or_a_status_out_of_order_is_not_in_order(
    statuses: list[str],
) -> None:
    checks = [(0.2 * index, status) for index, status in enumerate(statuses)]
    assert not StartRun(checks, None, _WAITED).in_order


def test_the_report_names_the_timeouts_and_each_runs_answers() -> None:
    timed_out = [(0.0, "UNAVAILABLE"), (0.2, "DEADLINE_EXCEEDED"), (0.9, "SERVING")]
    text = start_probes.report([StartRun(timed_out, 0.95, (0.2, 0.97, True))])
    assert "UNAVAILABLE x1, DEADLINE_EXCEEDED x1, SERVING x1" in text
    assert "checks timed out: 1; answers in order in 0 of 1 runs" in text
    assert "+0.02 to +0.02 s from `listening on`" in text


def test_the_burners_option_refuses_a_negative_count_before_it_runs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        start_probes.main(["--burners", "-1"])
    assert exited.value.code == 2
    assert "argument --burners: expected a whole number of at least 0" in capsys.readouterr().err


@pytest.mark.slow
def test_a_start_is_refused_then_not_serving_then_serving_and_the_client_waits_for_it() -> None:
    run = probe_start(workers=1, max_seconds=120)
    assert run.in_order, run.answers
    assert run.timeouts == 0
    begun, returned, ready = run.waited
    assert ready
    assert begun <= returned
    assert run.listening is not None
