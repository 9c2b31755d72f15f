"""Slowloris: half-open calls against a ``server.py`` child process while a client keeps working.

An attacker process keeps ``--calls`` calls open whose request message never arrives (a
client-streaming call to a unary method whose requests never come), over 4 connections. Without a
token they are health checks and advisor calls, half each (no token is needed for either); with
``--token`` the server requires one and they are token-less Recommend calls. A call that ends
(the server's request read timeout, 10 s by default; a token refusal, at once) is opened again:
at once after a read timeout, 1 s after any other end (so the attacker is not a plain flood).
Meanwhile a victim client (with the token, if one is required) polls health and calls Analyze
every ``--every`` seconds, each on its own channel.

Reported: health and Analyze latencies (p50/p99/max) and statuses, the attacker's calls and how
they ended, and the server's memory (idle, peak, 10 s after the attack). Exits 1 if health ever
reads anything but SERVING, an Analyze is not OK, or memory does not come back within 20%.

    python -m bench.slowloris --seconds 60 --write-docs
    python -m bench.slowloris --seconds 60 --token --write-docs
"""

from __future__ import annotations

import collections
import multiprocessing
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from multiprocessing.synchronize import Event as EventType
from pathlib import Path

import grpc

from advisor.protocol.metadata import bearer_metadata
from bench.load import warm_up
from bench.memory import RssWatch
from bench.poller import Poller
from bench.report import (
    add_write_option,
    command_parser,
    milliseconds,
    positive_int,
    update_section,
)
from tests.support.raw_calls import method_path
from tests.support.server_process import ServerProcess

__all__ = ["main"]

_CONNECTIONS = 4
_REFUSED_PAUSE_SECONDS = 1.0
_HEALTH_CHECK = "/grpc.health.v1.Health/Check"
_TOKEN = "bench-token"
_KIND = {
    True: "token-less Recommend calls, the server requiring a token",
    False: "half health checks, half Recommend calls, no token needed",
}


def _attack(
    address: str,
    calls: int,
    token_required: bool,
    stop: EventType,
    ended: multiprocessing.Queue[dict[str, int]],
) -> None:
    """Keep ``calls`` half-open calls open until ``stop``; put how they ended on ``ended``."""
    endings: collections.Counter[str] = collections.Counter()
    lock = threading.Lock()
    # gRPC shares one connection among channels with equal settings unless told otherwise; the
    # server allows 100 calls per connection.
    local = [("grpc.use_local_subchannel_pool", 1)]
    channels = [grpc.insecure_channel(address, options=local) for _ in range(_CONNECTIONS)]

    def never_sent(ended: threading.Event) -> Iterator[bytes]:
        # gRPC reads the requests on a thread of its own, which ends with the generator.
        while not (stop.wait(0.1) or ended.is_set()):
            pass
        return
        yield

    def open_call(index: int) -> None:
        if stop.is_set():
            return
        channel = channels[index % _CONNECTIONS]
        path = method_path("Recommend") if token_required or index % 2 else _HEALTH_CHECK
        call: grpc.StreamUnaryMultiCallable[bytes, bytes] = channel.stream_unary(
            path, request_serializer=None, response_deserializer=None
        )
        ended = threading.Event()
        future = call.future(never_sent(ended))

        def reopen(done: grpc.Future[bytes]) -> None:
            ended.set()
            code = done.code() if isinstance(done, grpc.Call) else grpc.StatusCode.UNKNOWN
            with lock:
                endings[code.name] += 1
            if code is grpc.StatusCode.DEADLINE_EXCEEDED:
                open_call(index)
            else:
                threading.Timer(_REFUSED_PAUSE_SECONDS, open_call, (index,)).start()

        future.add_done_callback(reopen)

    for index in range(calls):
        open_call(index)
    stop.wait()
    time.sleep(0.5)  # let the last endings arrive
    with lock:
        ended.put(dict(endings))
    for channel in channels:
        channel.close()


def _summary(name: str, poller: Poller) -> str:
    return (
        f"{name}: {sum(poller.readings.values())} calls {dict(poller.readings)}, latency p50 "
        f"{milliseconds(poller.latencies, 0.5)} ms, p99 {milliseconds(poller.latencies, 0.99)} "
        f"ms, max {poller.slowest_seconds * 1000:.0f} ms"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the attack and the victim; print (optionally publish) the figures."""
    parser = command_parser(description="Half-open calls against the advisor.")
    parser.add_argument("--calls", type=int, default=200, help="half-open calls kept open")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the attack")
    parser.add_argument("--every", type=float, default=0.1, help="victim's poll interval (s)")
    parser.add_argument("--workers", type=positive_int, default=2, help="server advisor slots")
    parser.add_argument("--token", action="store_true", help="the server requires a token")
    add_write_option(parser, "RELIABILITY.md")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as scratch:
        options = ["--workers", str(args.workers)]
        if args.token:
            token_file = Path(scratch) / "token"
            token_file.write_text(_TOKEN)
            options += ["--token-file", str(token_file)]
        with ServerProcess(*options) as server:
            # Spawned, not forked: a child forked from a process running gRPC threads inherits a
            # broken gRPC.
            spawn = multiprocessing.get_context("spawn")
            stop = spawn.Event()
            ended: multiprocessing.Queue[dict[str, int]] = spawn.Queue()
            attacker = spawn.Process(
                target=_attack, args=(server.address, args.calls, args.token, stop, ended)
            )
            metadata = (bearer_metadata(_TOKEN),) if args.token else ()
            warm_up(server.address, metadata)
            with (
                RssWatch(server) as memory,
                Poller(server.address, "health", args.every) as health,
                Poller(server.address, "analyze", args.every, metadata) as analyze,
            ):
                attacker.start()
                time.sleep(args.seconds)
                stop.set()
                endings = ended.get(timeout=30)
                attacker.join(30)
            memory.settle()
            refusal_lines = server.log().count("advisor.service.auth: refused")

    analyze_ok = set(analyze.readings) == {"OK"}
    healthy = set(health.readings) == {"SERVING"}
    lines = [
        f"{args.calls} half-open calls kept open for {args.seconds:g} s over {_CONNECTIONS} "
        f"connections ({_KIND[args.token]}); "
        f"their endings: {endings}. Victim every {args.every:g} s, server with "
        f"{args.workers} advisor slots (worker processes).",
        "",
        f"- {_summary('health', health)}",
        f"- {_summary('Analyze', analyze)}",
        f"- {memory.summary()}",
        f"- Server log lines about refused calls: {refusal_lines}.",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write_docs:
        command = (
            f"python -m bench.slowloris --calls {args.calls} --seconds {args.seconds:g} "
            f"--every {args.every:g} --workers {args.workers}" + (" --token" if args.token else "")
        )
        section = "slowloris-token" if args.token else "slowloris"
        update_section(args.docs_file, section, f"`{command}`\n\n{text}")
    return 0 if healthy and analyze_ok and memory.recovered else 1


if __name__ == "__main__":
    sys.exit(main())
