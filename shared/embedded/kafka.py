"""Apache Kafka on this machine: KRaft nodes run from Maven Central's jars, on 127.0.0.1 only.

The test sessions (``HERALD_TEST_BROKER=kafka``) and the benchmark use it to prove Herald on the
broker its users run; every test tuning of the broker lives in ``TEST_TUNING`` below.
"""

from __future__ import annotations

import base64
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from shared.embedded.ports import free_port, wait_for_port

POM = Path(__file__).resolve().parents[2] / "deploy" / "apache-kafka" / "pom.xml"

#: Broker settings that make a test cluster start and rebalance fast and roll segments often.
TEST_TUNING: Mapping[str, str] = {
    "group.initial.rebalance.delay.ms": "0",
    "group.min.session.timeout.ms": "1000",
    "offsets.topic.num.partitions": "4",
    "log.segment.bytes": str(8 * 1024 * 1024),
    "log.retention.check.interval.ms": "1000",
    # Retention and cleanup tasks start at once rather than 30 s after the node does.
    "log.initial.task.delay.ms": "0",
    "log.cleaner.backoff.ms": "500",
    "auto.create.topics.enable": "false",
    "num.network.threads": "2",
    "num.io.threads": "4",
    "log.flush.offset.checkpoint.interval.ms": "1000",
}

#: SASL users every secured node knows; SCRAM ones are written into the storage at format time.
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


class KafkaUnavailable(RuntimeError):
    """The jars could not be fetched or a node did not come up; the message says which."""


@dataclass(frozen=True)
class SaslSslListener:
    """A SASL_SSL listener: the node's key and chain (one PEM file), the CA, and the users."""

    keystore_pem: Path
    truststore_pem: Path
    users: Mapping[str, str]


def kafka_libs(cache: Path | None = None) -> Path:
    """The folder of Apache Kafka's jars, fetched by Maven once per pom change and then reused.

    Processes starting Kafka at once (two test workers on a fresh clone) take turns on a lock
    file beside the folder: one fetches, the others find its stamp."""
    folder = cache or Path(os.environ.get("HERALD_KAFKA_LIBS", Path(sys.prefix) / "apache-kafka"))
    folder.parent.mkdir(parents=True, exist_ok=True)
    with (folder.parent / f".{folder.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _fetched(folder)


def _fetched(folder: Path) -> Path:
    stamp = folder / ".pom-stamp"
    wanted = POM.read_text()
    if stamp.exists() and stamp.read_text() == wanted:
        return folder
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KafkaUnavailable("Apache Kafka's jars come through Maven: install Java 17 and Maven")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    fetched = subprocess.run(  # noqa: S603 - fixed program and arguments
        [
            mvn,
            "--batch-mode",
            "--quiet",
            "-f",
            str(POM),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={folder}",
            "-DincludeScope=runtime",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if fetched.returncode != 0:
        raise KafkaUnavailable(f"mvn could not fetch Apache Kafka:\n{fetched.stdout[-4000:]}")
    stamp.write_text(wanted)
    return folder


@dataclass
class KafkaNode:
    """One KRaft process (broker and controller) and the ports it listens on."""

    node_id: int
    port: int
    controller_port: int
    secure_port: int | None
    data_dir: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class KafkaCluster:
    """Apache Kafka nodes started together; ``stop()`` ends them all and removes their data."""

    nodes: list[KafkaNode]
    root: Path
    libs: Path
    sasl_ssl: SaslSslListener | None = None
    heap: str = "512m"
    cluster_id: str = field(default_factory=lambda: _cluster_id())

    kind = "kafka"

    @property
    def bootstrap(self) -> str:
        """The plaintext listeners of every node, as clients list them."""
        return ",".join(f"127.0.0.1:{node.port}" for node in self.nodes)

    @property
    def secure_bootstrap(self) -> str:
        """The SASL_SSL listeners (only when the cluster was started with one)."""
        if self.sasl_ssl is None:
            raise KafkaUnavailable("this cluster was started without a SASL_SSL listener")
        return ",".join(f"127.0.0.1:{node.secure_port}" for node in self.nodes)

    def pids(self) -> list[int]:
        return [node.process.pid for node in self.nodes if node.process is not None]

    def log_paths(self) -> list[Path]:
        return [node.data_dir / "kafka.log" for node in self.nodes]

    def start(self, timeout: float = 90.0) -> KafkaCluster:
        """Format every node's storage, start them and wait until each takes connections."""
        for node in self.nodes:
            self._write_config(node)
            self._format(node)
        for node in self.nodes:
            self._spawn(node)
        deadline = time.monotonic() + timeout
        for node in self.nodes:
            self._wait(node, deadline)
        return self

    def kill(self, node_id: int) -> None:
        """SIGKILL one node, as a crash would: no clean shutdown, its log stays on disk."""
        node = self._node(node_id)
        if node.process is not None and node.alive:
            node.process.send_signal(signal.SIGKILL)
            node.process.wait()
        node.process = None

    def restart(self, node_id: int, timeout: float = 90.0) -> None:
        """Start a stopped or killed node again on the same ports and the same log."""
        node = self._node(node_id)
        if node.alive:
            self.kill(node_id)
        self._spawn(node)
        self._wait(node, time.monotonic() + timeout)

    def stop(self) -> None:
        """Stop every node (SIGTERM, then SIGKILL after a grace) and delete the data."""
        for node in self.nodes:
            if node.process is not None and node.alive:
                node.process.terminate()
        for node in self.nodes:
            if node.process is None:
                continue
            try:
                node.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                node.process.kill()
                node.process.wait()
            node.process = None
        shutil.rmtree(self.root, ignore_errors=True)

    def _node(self, node_id: int) -> KafkaNode:
        for node in self.nodes:
            if node.node_id == node_id:
                return node
        raise KeyError(node_id)

    def _voters(self) -> str:
        return ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in self.nodes)

    def _write_config(self, node: KafkaNode) -> None:
        replication = str(min(3, len(self.nodes)))
        listeners = [f"PLAINTEXT://127.0.0.1:{node.port}"]
        protocols = ["PLAINTEXT:PLAINTEXT", "CONTROLLER:PLAINTEXT"]
        if self.sasl_ssl is not None:
            listeners.append(f"SASL_SSL://127.0.0.1:{node.secure_port}")
            protocols.append("SASL_SSL:SASL_SSL")
        config = {
            "process.roles": "broker,controller",
            "node.id": str(node.node_id),
            "controller.quorum.voters": self._voters(),
            "listeners": ",".join([*listeners, f"CONTROLLER://127.0.0.1:{node.controller_port}"]),
            "advertised.listeners": ",".join(listeners),
            "listener.security.protocol.map": ",".join(protocols),
            "inter.broker.listener.name": "PLAINTEXT",
            "controller.listener.names": "CONTROLLER",
            "log.dirs": str(node.data_dir / "log"),
            "offsets.topic.replication.factor": replication,
            "transaction.state.log.replication.factor": replication,
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": replication,
            "share.coordinator.state.topic.min.isr": "1",
            **TEST_TUNING,
            **self._security_config(),
        }
        text = "".join(f"{key}={value}\n" for key, value in config.items())
        node.data_dir.mkdir(parents=True, exist_ok=True)
        (node.data_dir / "server.properties").write_text(text)
        (node.data_dir / "log4j2.properties").write_text(_LOG_CONFIG)

    def _security_config(self) -> dict[str, str]:
        secured = self.sasl_ssl
        if secured is None:
            return {}
        users = secured.users.items()
        plain_users = " ".join(f'user_{name}="{password}"' for name, password in users)
        prefix = "listener.name.sasl_ssl"
        return {
            "sasl.enabled.mechanisms": ",".join(SASL_MECHANISMS),
            f"{prefix}.plain.sasl.jaas.config": (
                f"org.apache.kafka.common.security.plain.PlainLoginModule required {plain_users};"
            ),
            f"{prefix}.scram-sha-256.sasl.jaas.config": _SCRAM_MODULE,
            f"{prefix}.scram-sha-512.sasl.jaas.config": _SCRAM_MODULE,
            f"{prefix}.ssl.keystore.type": "PEM",
            f"{prefix}.ssl.keystore.location": str(secured.keystore_pem),
            f"{prefix}.ssl.truststore.type": "PEM",
            f"{prefix}.ssl.truststore.location": str(secured.truststore_pem),
        }

    def _format(self, node: KafkaNode) -> None:
        arguments = [
            "format",
            "--config",
            str(node.data_dir / "server.properties"),
            "--cluster-id",
            self.cluster_id,
            "--ignore-formatted",
        ]
        for name, password in self.sasl_ssl.users.items() if self.sasl_ssl else ():
            for mechanism in SASL_MECHANISMS[1:]:
                arguments += ["--add-scram", f"{mechanism}=[name={name},password={password}]"]
        done = subprocess.run(  # noqa: S603 - our java, our arguments
            [*self._java(node, heap="256m"), "kafka.tools.StorageTool", *arguments],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            output = f"{done.stdout}\n{done.stderr}"
            raise KafkaUnavailable(f"formatting node {node.node_id} failed:\n{output}")

    def _java(self, node: KafkaNode, heap: str) -> list[str]:
        java = shutil.which("java")
        if java is None:
            raise KafkaUnavailable("Apache Kafka needs Java 17 (java not found on PATH)")
        return [
            java,
            f"-Xms{heap}",
            f"-Xmx{heap}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={node.data_dir / 'log4j2.properties'}",
            "-cp",
            f"{self.libs}/*",
        ]

    def _spawn(self, node: KafkaNode) -> None:
        config = node.data_dir / "server.properties"
        with (node.data_dir / "kafka.log").open("ab") as log:
            node.process = subprocess.Popen(  # noqa: S603 - our java, our arguments
                [*self._java(node, self.heap), "kafka.Kafka", str(config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def _wait(self, node: KafkaNode, deadline: float) -> None:
        ports = [node.port] + ([node.secure_port] if node.secure_port else [])
        for port in ports:
            while True:
                if not node.alive:
                    log = (node.data_dir / "kafka.log").read_text(errors="replace")[-4000:]
                    raise KafkaUnavailable(f"Kafka node {node.node_id} exited:\n{log}")
                try:
                    wait_for_port(port, timeout=0.5)
                    break
                except TimeoutError:
                    if time.monotonic() > deadline:
                        raise KafkaUnavailable(
                            f"Kafka node {node.node_id} not listening on {port}"
                        ) from None


def start_kafka(
    brokers: int = 1,
    *,
    sasl_ssl: SaslSslListener | None = None,
    heap: str = "512m",
    root: Path | None = None,
) -> KafkaCluster:
    """Start ``brokers`` combined KRaft nodes on free loopback ports; each node keeps its log
    under ``root`` (a fresh folder under /tmp when None) so a restarted node finds it again."""
    base = root or Path(tempfile.mkdtemp(prefix="herald-kafka-", dir=tempfile.gettempdir()))
    nodes = [
        KafkaNode(
            node_id=index + 1,
            port=free_port(),
            controller_port=free_port(),
            secure_port=free_port() if sasl_ssl is not None else None,
            data_dir=base / f"node-{index + 1}",
        )
        for index in range(brokers)
    ]
    cluster = KafkaCluster(nodes=nodes, root=base, libs=kafka_libs(), sasl_ssl=sasl_ssl, heap=heap)
    try:
        return cluster.start()
    except BaseException:
        cluster.stop()
        raise


def _cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes in URL-safe base64 without padding, never starting
    with a dash (the storage tool would read it as an option)."""
    while True:
        candidate = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not candidate.startswith("-"):
            return candidate


_SCRAM_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule required;"

_LOG_CONFIG = """\
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.out.ref = out
logger.kafka.name = kafka
logger.kafka.level = WARN
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = INFO
"""
