"""The local single-node Apache Kafka (KRaft) that development, tests and the demo use.

Needs only Java 17+ and Maven: the first start fetches ``org.apache.kafka:kafka_2.13`` and
its runtime dependencies from Maven Central into the user's cache (about 46 MB, once),
formats the storage and starts the broker on 127.0.0.1. The broker's home (data, logs,
``broker.json`` with pid and ports) is ``HAZMAT_BROKER_HOME`` or
``~/.cache/hazmat-checker/broker``; the jars are shared by every home.

Kafka 3.9 is pinned: 4.x drops protocol versions that aiokafka (the API) and kafka-python
may still use.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hazmat.paths import cache_root

KAFKA_VERSION = "3.9.1"
SCALA_VERSION = "2.13"
SLF4J_BACKEND = ("org.slf4j", "slf4j-reload4j", "1.7.36")
START_TIMEOUT_S = 90.0

log = logging.getLogger("hazmat.broker")

#: brokers this process started, kept so they can be reaped (no zombie, no ResourceWarning)
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


class BrokerError(RuntimeError):
    """The local broker could not be fetched, started or stopped; the message says why and what to do."""


def jars_dir() -> Path:
    return cache_root() / f"kafka_{SCALA_VERSION}-{KAFKA_VERSION}" / "lib"


def default_home() -> Path:
    return Path(os.environ.get("HAZMAT_BROKER_HOME") or cache_root() / "broker")


_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>hazmat-checker</groupId><artifactId>local-kafka</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_{scala}</artifactId><version>{kafka}</version></dependency>
    <dependency><groupId>{lg}</groupId><artifactId>{la}</artifactId><version>{lv}</version></dependency>
  </dependencies>
</project>
"""


def fetch(*, progress: Callable[[str], None] = print) -> Path:
    """Download Kafka's jars with Maven once; return the folder that holds them."""
    lib = jars_dir()
    marker = lib / ".complete"
    if marker.is_file():
        return lib
    for tool in ("java", "mvn"):
        if shutil.which(tool) is None:
            msg = f"'{tool}' is not on PATH; the local broker needs Java 17+ and Maven (apt-get install openjdk-17-jre-headless maven)"
            raise BrokerError(msg)
    work = lib.parent
    work.mkdir(parents=True, exist_ok=True)
    lg, la, lv = SLF4J_BACKEND
    (work / "pom.xml").write_text(
        _POM.format(scala=SCALA_VERSION, kafka=KAFKA_VERSION, lg=lg, la=la, lv=lv), encoding="utf-8"
    )
    progress(f"fetching Apache Kafka {KAFKA_VERSION} (kafka_{SCALA_VERSION}) from Maven Central into {lib} (once)…")
    tmp = work / "lib.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    cmd = ["mvn", "-B", "-q", "dependency:copy-dependencies", f"-DoutputDirectory={tmp}", "-DincludeScope=runtime"]
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
        msg = "Maven could not fetch Kafka's jars:\n" + "\n".join(tail)
        raise BrokerError(msg)
    shutil.rmtree(lib, ignore_errors=True)
    tmp.rename(lib)
    marker.write_text(KAFKA_VERSION, encoding="utf-8")
    progress(f"fetched {len(list(lib.glob('*.jar')))} jars")
    return lib


@dataclass(frozen=True)
class BrokerInfo:
    pid: int
    port: int
    controller_port: int
    home: str

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Kafka binds: a closing socket is no obstacle
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _ours(pid: int, home: Path) -> bool:
    """Whether ``pid`` is this home's broker: after a reboot the pid in ``broker.json`` may be
    another program's (its process group must not be signalled). Where /proc cannot say, trust it."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return False
    except OSError:
        return _alive(pid)
    return "kafka.Kafka" in cmdline and str(home) in cmdline


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _state_file(home: Path) -> Path:
    return home / "broker.json"


def status(home: Path | None = None) -> BrokerInfo | None:
    """The running broker of ``home``, or ``None`` when none runs there."""
    home = home or default_home()
    try:
        data = json.loads(_state_file(home).read_text(encoding="utf-8"))
        info = BrokerInfo(**data)
    except (OSError, ValueError, TypeError):
        return None
    if _alive(info.pid) and _accepts(info.port):
        return info
    return None


def _partitions() -> int:
    from hazmat.streams.settings import from_env

    return from_env().partitions


def _server_properties(home: Path, port: int, controller_port: int) -> str:
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{controller_port}",
            f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
            "controller.listener.names=CONTROLLER",
            "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "inter.broker.listener.name=PLAINTEXT",
            f"log.dirs={home / 'data'}",
            # topics made without the worker's admin client get the partitions it would give them
            f"num.partitions={_partitions()}",
            "auto.create.topics.enable=false",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=6",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            "log.retention.hours=168",
            # a deleted topic's files (each demo run deletes its own) go a second later, not a
            # minute, and those a broker stopped sooner left go a second after it starts again
            # (not 30 s: a demo's broker lives about 20 s), so they never pile up
            "log.segment.delete.delay.ms=1000",
            "log.initial.task.delay.ms=1000",
            "",
        ]
    )


_LOG4J = """log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File={log}
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
"""


def _java(lib: Path, home: Path, main: str, *args: str) -> list[str]:
    return [
        "java",
        "-Xms256m",
        "-Xmx768m",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j.configuration=file:{home / 'log4j.properties'}",
        f"-Dkafka.logs.dir={home / 'logs'}",
        "-cp",
        f"{lib}/*",
        main,
        *args,
    ]


def start(*, port: int | None = None, home: Path | None = None, progress: Callable[[str], None] = print) -> BrokerInfo:
    """Start the broker (fetching and formatting first if needed); return once it accepts connections.

    Reuses a broker already running in ``home``. ``port`` 0 or ``None`` reuses the last port
    of this home when free, else picks a free one.
    """
    home = (home or default_home()).resolve()
    running = status(home)
    if running:
        if port and running.port != port:
            msg = f"a broker already runs in {home} on port {running.port}; stop it first (hazmat broker stop)"
            raise BrokerError(msg)
        return running
    lib = fetch(progress=progress)
    home.mkdir(parents=True, exist_ok=True)
    (home / "logs").mkdir(exist_ok=True)
    last: dict[str, int] = {}
    with contextlib.suppress(OSError, ValueError):
        last = json.loads(_state_file(home).read_text(encoding="utf-8"))
    if not port:
        port = last.get("port") if last.get("port") and _port_free(last["port"]) else _free_port()
    elif not _port_free(port):
        msg = f"port {port} on 127.0.0.1 is taken; choose another with --port, or 0 for a free one"
        raise BrokerError(msg)
    controller_port = last.get("controller_port") or 0
    if not controller_port or not _port_free(controller_port) or controller_port == port:
        controller_port = _free_port()
    props = home / "server.properties"
    props.write_text(_server_properties(home, port, controller_port), encoding="utf-8")
    (home / "log4j.properties").write_text(_LOG4J.format(log=home / "logs" / "server.log"), encoding="utf-8")
    if not (home / "data" / "meta.properties").is_file():
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        fmt = subprocess.run(
            # --cluster-id=…: an id that starts with "-" (1 in 64 of them) is otherwise read as an option
            _java(lib, home, "kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}", "-c", str(props)),
            capture_output=True,
            text=True,
            check=False,
        )
        if fmt.returncode != 0:
            msg = f"formatting the broker storage in {home / 'data'} failed:\n{fmt.stdout}{fmt.stderr}"
            raise BrokerError(msg)
    with (home / "logs" / "stdout.log").open("ab") as out:
        proc = subprocess.Popen(
            _java(lib, home, "kafka.Kafka", str(props)),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C in the caller's terminal must not kill the broker mid-write
        )
    _CHILDREN[proc.pid] = proc
    info = BrokerInfo(pid=proc.pid, port=port, controller_port=controller_port, home=str(home))
    _state_file(home).write_text(json.dumps(info.__dict__), encoding="utf-8")
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            msg = f"the broker exited with code {proc.returncode}; see {home / 'logs' / 'server.log'}"
            raise BrokerError(msg)
        if _accepts(port) and _ready(info.bootstrap):
            log.info("broker started", extra={"bootstrap": info.bootstrap, "pid": proc.pid, "home": str(home)})
            return info
        time.sleep(0.2)
    stop(home=home)
    msg = f"the broker did not accept connections within {START_TIMEOUT_S:.0f} s; see {home / 'logs' / 'server.log'}"
    raise BrokerError(msg)


def _ready(bootstrap: str) -> bool:
    """True once the broker answers a metadata request (the listener opens a little earlier)."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
    except (KafkaError, OSError, ValueError):
        return False
    try:
        admin.list_topics()
        return True
    except (KafkaError, OSError, ValueError):
        return False
    finally:
        admin.close()


def stop(*, home: Path | None = None, timeout: float = 30.0) -> bool:
    """Stop the broker of ``home`` (SIGTERM, then SIGKILL after ``timeout``); False if none ran."""
    home = (home or default_home()).resolve()
    try:
        info = BrokerInfo(**json.loads(_state_file(home).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return False
    if not _alive(info.pid):
        return False
    if not _zombie(info.pid) and not _ours(info.pid, home):  # a zombie is our own child, exited
        log.warning("broker.json names a process that is not this broker; not signalled", extra={"pid": info.pid})
        return False
    os.killpg(info.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(info.pid) or _zombie(info.pid):
            break
        time.sleep(0.1)
    else:
        os.killpg(info.pid, signal.SIGKILL)
    _reap(info.pid)
    log.info("broker stopped", extra={"pid": info.pid, "home": str(home)})
    return True


def kill(*, home: Path | None = None) -> None:
    """SIGKILL the broker at once (fault-injection tests); its data stays for the next start."""
    home = (home or default_home()).resolve()
    info = BrokerInfo(**json.loads(_state_file(home).read_text(encoding="utf-8")))
    if _alive(info.pid) and _ours(info.pid, home):
        os.killpg(info.pid, signal.SIGKILL)
    _reap(info.pid)


def _reap(pid: int) -> None:
    child = _CHILDREN.pop(pid, None)
    if child is not None:
        child.wait(timeout=30)


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().split(")")[-1].split()[0] == "Z"
    except OSError:
        return False
