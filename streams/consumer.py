"""The stream's consumer: a read returns as soon as a message comes, and waits long only when nothing is buffered.

Quix reads the concatenated inputs in timestamp order from its own buffers, which it fills
with ``consume(10000, timeout)``; librdkafka's batch call waits out the whole timeout unless
10,000 messages come, so the timeout is added to a message's latency whenever a buffer runs
empty (Quix's default 1 s: p50 ~1.7 s). The worker used a 1 ms timeout, which bounds that,
but then an idle worker reads a thousand times a second (13 % of a core, and more of it
under load, when the machine's cores are shared with the broker).

Here a read is ``poll(timeout)`` for the first message (librdkafka returns it the moment it
is there) and then ``consume(n - 1, 0)`` for whatever else is already fetched, without
waiting. The timeout is ``busy_s`` (the short one) while Quix still holds buffered messages
— it then waits for a partition's next fetch to know the order, and must come back soon —
and ``idle_s`` when nothing is buffered: a quiet worker sleeps in librdkafka until a
message comes, and the message is not delayed by it.
"""

from __future__ import annotations

from typing import Any

from quixstreams import Application
from quixstreams.internal_consumer import InternalConsumer


class PromptConsumer(InternalConsumer):
    """Quix's consumer with a read that returns on the first message (see the module's docstring)."""

    def __init__(self, *args: Any, idle_s: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.idle_s = idle_s

    def buffered(self) -> bool:
        """Whether Quix's ordering buffers still hold a message (then a read must come back soon)."""
        return any(
            not buffer.empty()
            for group in self._buffer._partition_groups.values()
            for buffer in group._partition_buffers_values
        )

    def consume(self, num_messages: int = 1, timeout: float | None = None) -> list[Any]:
        busy_s = 0.0 if timeout is None or timeout < 0 else timeout
        first = self._consumer.poll(busy_s if self.buffered() else max(self.idle_s, busy_s))
        if first is None:
            return []
        if num_messages <= 1:
            return [first]
        return [first, *self._consumer.consume(num_messages=num_messages - 1, timeout=0)]


class WorkerApplication(Application):
    """Quix's application with :class:`PromptConsumer` as its consumer (``idle_poll_s``: its idle wait)."""

    def __init__(self, *args: Any, idle_poll_s: float, **kwargs: Any) -> None:
        self._idle_poll_s = idle_poll_s  # before Application.__init__, which builds the consumer
        super().__init__(*args, **kwargs)

    def _get_internal_consumer(
        self, on_error: Any = None, extra_config_overrides: dict[str, Any] | None = None
    ) -> InternalConsumer:
        # as Application._get_internal_consumer (quixstreams 3.28.1) builds its InternalConsumer
        config = self._config
        return PromptConsumer(
            broker_address=config.broker_address,
            consumer_group=config.consumer_group,
            auto_offset_reset=config.auto_offset_reset,
            auto_commit_enable=False,  # Quix commits at its checkpoints
            max_partition_buffer_size=config.max_partition_buffer_size,
            extra_config={**config.consumer_extra_config, **(extra_config_overrides or {})},
            on_error=on_error,
            idle_s=self._idle_poll_s,
        )
