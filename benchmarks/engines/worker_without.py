"""``hazmat worker`` with one of its parts taken out, for benchmarks only: which part costs latency (issue #15).

``BENCH_WITHOUT`` lists what goes (comma-separated), each a candidate cause of the worker's
latency over the prototype's (benchmarks/engines/quix_flows.py):

- ``timer``: the overdue timer thread is not started;
- ``followers``: the blacklist and passes followers stop once caught up (their consumer threads gone);
- ``sink``: the archive sink writes nothing (check-ins' entries are dropped: latency only);
- ``restart``: ``app.run()`` directly, not through the restart wrapper;
- ``linger``: the stream's producer without ``linger.ms`` 5 (librdkafka's default);
- ``logging``: the root logger at WARNING (no INFO line per alert);
- ``prompt``: Quix's own consumer, not :class:`hazmat.streams.consumer.PromptConsumer` (every read waits
  out ``HAZMAT_POLL_TIMEOUT_S``, 1 ms, as the worker did before).

Nothing in the production worker changes; the outputs are the same (but for the archive with ``sink``).

    BENCH_WITHOUT=timer,sink KAFKA_BOOTSTRAP_SERVERS=… HAZMAT_TOPIC_PREFIX=… python benchmarks/engines/worker_without.py
"""

from __future__ import annotations

import os
from typing import Any


def main() -> None:
    without = {w.strip() for w in os.environ.get("BENCH_WITHOUT", "").split(",") if w.strip()}
    known = {"timer", "followers", "sink", "restart", "linger", "logging", "prompt"}
    if without - known:
        msg = f"BENCH_WITHOUT: unknown {sorted(without - known)}; known {sorted(known)}"
        raise SystemExit(msg)
    from hazmat.streams import app, consumer, follower, sink, worker
    from hazmat.streams.agents import flows

    if "timer" in without:
        flows.OverdueTimer.start = lambda self: None  # type: ignore[method-assign]
    if "followers" in without:
        check = follower.Follower._check_ready

        def check_then_stop(self: follower.Follower, consumer: Any, ends: Any) -> None:
            check(self, consumer, ends)
            if self.ready.is_set():
                self.stopping.set()

        follower.Follower._check_ready = check_then_stop  # type: ignore[method-assign]
    if "sink" in without:
        sink.ArchiveSink.flush = lambda self: self._entries.clear()  # type: ignore[method-assign]
    if "restart" in without:
        worker.run_until_stopped = lambda app_, rebuild, log, **kw: app_.run()
    if "linger" in without:
        worker_application = app.WorkerApplication

        def application(**kw: Any) -> Any:
            kw["producer_extra_config"] = {k: v for k, v in kw["producer_extra_config"].items() if k != "linger.ms"}
            return worker_application(**kw)

        app.WorkerApplication = application  # type: ignore[misc]
    if "prompt" in without:
        consumer.WorkerApplication._get_internal_consumer = app.Application._get_internal_consumer  # type: ignore[method-assign]
    if "logging" in without:
        worker.LOGGING["root"]["level"] = "WARNING"
    from hazmat.cli import app as cli

    cli(args=["worker"])


if __name__ == "__main__":
    main()
