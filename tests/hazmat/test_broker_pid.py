"""``hazmat broker stop`` signals only its own broker: a stale ``broker.json`` (a reboot, the pid
reused) must not make it kill another program's process group."""

from __future__ import annotations

import json
import subprocess
import sys

from hazmat import broker


def test_stop_leaves_a_process_that_is_not_the_broker_alone(tmp_path):
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        state = {"pid": other.pid, "port": 1, "controller_port": 2, "home": str(tmp_path)}
        (tmp_path / "broker.json").write_text(json.dumps(state), encoding="utf-8")
        assert broker.stop(home=tmp_path, timeout=1) is False
        broker.kill(home=tmp_path)
        assert other.poll() is None  # still running: neither stop nor kill signalled it
    finally:
        other.kill()
        other.wait()
