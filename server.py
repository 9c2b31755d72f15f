"""Start the architecture advisor gRPC service and serve until SIGTERM or Ctrl-C.

    python server.py [--host H] [--port P] [--workers N] [--executor processes|threads]
                     [--worker-niceness N] [--worker-max-memory MIB]
                     [--reflection|--no-reflection] [--access-log|--no-access-log]
                     [--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]]
                     [--token-file FILE] [--grace S] [--request-read-timeout S]
                     [--max-streams-per-connection N] [--limit NAME=VALUE ...] [--config FILE]
                     [--katib-port PORT [--katib-host H]
                      [--katib-data-dir DIR [--katib-namespace NS]]]
                     [--metrics-port PORT [--metrics-host H]]
    python server.py --version

A thin entry point: the same options and behaviour as the ``advisor-server`` console script and
``advisor serve`` (:mod:`advisor.service.command`), started as the console script starts
it (:mod:`advisor.entry`). Once bound it prints ``listening on
HOST:PORT`` on stdout; logs go to stderr. A bad option is one line on stderr and exit status 2.
docs/SERVICE.md describes the service, its limits and its status codes.
"""

from __future__ import annotations

import sys

from advisor.entry import advisor_server

if __name__ == "__main__":
    sys.exit(advisor_server(prog="server.py"))
