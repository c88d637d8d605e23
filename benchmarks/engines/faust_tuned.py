"""Today's faust worker (``hazmat worker``) with faust settings overridden, for benchmarks only.

``HAZMAT_BENCH_FAUST`` is a JSON object of ``faust.App`` settings that replace the ones in
``hazmat/streams/app.py`` (e.g. ``{"producer_acks": 1, "stream_buffer_maxsize": 16384}``),
plus two keys that are not faust settings: ``"uvloop": true`` runs the worker on uvloop's
event loop, and ``"loglevel": "WARNING"`` raises the root log level (the worker logs each
alert and each refused check-in at INFO). Nothing in the production worker changes.

    HAZMAT_BENCH_FAUST='{"uvloop": true}' python benchmarks/engines/faust_tuned.py
"""

from __future__ import annotations

import json
import os
from typing import Any


def main() -> None:
    overrides: dict[str, Any] = json.loads(os.environ.get("HAZMAT_BENCH_FAUST") or "{}")
    if overrides.pop("uvloop", False):
        import uvloop

        uvloop.install()
    if level := overrides.pop("loglevel", None):
        from hazmat.streams import worker

        worker.LOGGING["root"]["level"] = level
    import faust

    original = faust.App.__init__

    def with_overrides(self: faust.App, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **{**kwargs, **overrides})

    faust.App.__init__ = with_overrides  # type: ignore[method-assign]
    from hazmat.cli import app

    app(args=["worker"])


if __name__ == "__main__":
    main()
