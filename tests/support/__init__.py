"""What the tests and the benches share: strategies, workloads, harnesses, probes, certificates.

Test modules import from here and from the product (``advisor``, ``advisor_client``), never from
one another; the benches under ``bench/`` import from here too, so a probe a test asserts on and
the figure a bench prints come from one piece of code. This package imports only the product and
third-party libraries. It is not part of the wheel: none of it is needed to use the advisor.

* :mod:`tests.support.strategies`: hypothesis strategies for documents and RPC requests, and the
  builders of protobuf messages from documents;
* :mod:`tests.support.workloads`: fixed tasks and budgets (small, long-running, large);
* :mod:`tests.support.raw_calls`: calls as raw bytes and the checks applied to their outcome;
* :mod:`tests.support.harness`: the servicer called directly (with the worker-thread context of
  :mod:`advisor.service.threads`) or over a channel, behind one calling convention;
* :mod:`tests.support.server_process`: ``server.py`` run as a child process;
* :mod:`tests.support.faults`: the deadline, cancellation, disconnect and SIGTERM probes;
* :mod:`tests.support.scripted`: a scripted fake of the service, for the client and CLI tests;
* :mod:`tests.support.certificates`: throw-away X.509 material for the TLS tests;
* :mod:`tests.support.partitioners`: the arrangement's partitioners, METIS where installed.
"""
