"""``vehicle-loads`` picks its changelog partition by the plate, exactly as the clients do.

The check-in agent writes it in batches, so the partition comes from the producer's
partitioner on the serialized key, not from "the current event": that key must be the
plate's UTF-8 bytes, and the partitioner the one every producer of plate-keyed events uses
(kafka-python in the demo and tests, aiokafka in the API and the worker), or a worker would
restore other vehicles' loads than the ones whose pings it receives.
"""

from __future__ import annotations

import importlib

from aiokafka.partitioner import DefaultPartitioner
from kafka.partitioner.default import murmur2

from hazmat.streams import names

PLATES = [f"{p}{c}{n:05d}" for p in "晋黑川京沪" for c in "ABCD" for n in range(0, 5000, 97)]


def test_the_table_key_is_the_plate_bytes_and_its_partition_the_clients_partition(monkeypatch):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9")  # the app is only declared here, never started
    app = importlib.import_module("hazmat.streams.app").app
    vehicle_loads = importlib.import_module("hazmat.streams.tables").vehicle_loads
    assert vehicle_loads.use_partitioner
    assert vehicle_loads.key_serializer == "raw"
    partitions = list(range(names.DEFAULT_PARTITIONS))
    aiokafka_partitioner = DefaultPartitioner()
    used = set()
    for plate in PLATES:
        key = app.serializers.dumps_key(
            vehicle_loads.key_type, plate.encode("utf-8"), serializer=vehicle_loads.key_serializer
        )  # what set_load writes
        assert key == plate.encode("utf-8")
        by_kafka_python = (murmur2(key) & 0x7FFFFFFF) % len(partitions)
        assert aiokafka_partitioner(key, partitions, partitions) == by_kafka_python
        used.add(by_kafka_python)
    assert used == set(partitions)  # the plates spread over every partition
