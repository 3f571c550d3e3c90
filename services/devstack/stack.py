"""Start and stop the whole Herald stack on this machine, on the embedded defaults.

Order matters: broker and database first, then topics, then the emulators, then every service, each
as its own process with its own settings, exactly as a deployment would run them.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet

from contracts.topics import all_topics
from services.devstack import credentials
from services.devstack.credentials import StackCredentials
from services.devstack.processes import ServiceProcess
from services.devstack.provision import provision
from shared.embedded.brokers import BrokerKind, LocalBroker, start_local_broker
from shared.embedded.ports import free_port, port_is_free
from shared.embedded.postgres import EmbeddedPostgres, start_postgres
from shared.kafka.admin import ensure_topics
from shared.platforms.webpush.subscription import DEFAULT_WEBPUSH_HOSTS
from shared.secrets import new_secrets_key
from shared.settings import KafkaSettings

DEFAULT_PORTS = {
    "broker": 9092,
    "ingest": 8081,
    "registry": 8082,
    "scheduler": 8083,
    "badge-count": 8084,
    "dispatcher-fcm": 8085,
    "dispatcher-apns": 8086,
    "dispatcher-webpush": 8087,
    "tracker": 8088,
    "webhooks": 8089,
    "console": 8080,
    "fcm-emulator": 8090,
    "apns-emulator": 8091,
    "webpush-emulator": 8092,
    "apns-emulator-tls": 8443,
    "webpush-emulator-tls": 8444,
    "fcm-emulator-tls": 8445,
}
EMULATORS = ("fcm-emulator", "apns-emulator", "webpush-emulator")
#: The embedded broker answers a waiting fetch late rather than when records arrive, so consumers
#: wait briefly. make bench-smoke: 50 ms gives p50 ~70 ms end to end (500 ms: ~250 ms) for ~10% of
#: a core idle in the broker and ~1% per service (25 ms: no faster, the broker ~25% busy idle).
EMBEDDED_FETCH_WAIT_MS = 50


@dataclass
class StackOptions:
    """How to run the stack: fixed well-known ports for people, free ports for tests.

    ``emulator_latency_ms`` makes every emulator hold its replies (a slow provider);
    ``service_env`` adds ``HERALD_*`` settings to every Herald service (benchmarks tune with it);
    ``broker`` picks the embedded broker (default) or a single-node Apache Kafka;
    ``kafka_replication`` is each topic's replica count (3 on a three-node cluster given to the
    stack; min.insync.replicas follows the settings' default, one less).
    """

    prefer_default_ports: bool = True
    broker: BrokerKind = "embedded"
    fast_group_membership: bool = False
    log_level: str = "INFO"
    app_id: str = "demo"
    run_dir: Path | None = None
    emulator_latency_ms: float = 0.0
    service_env: dict[str, str] = field(default_factory=dict)
    kafka_replication: int = 1


@dataclass
class LocalStack:
    """The running stack; ``stop()`` ends every process it started, by PID, in reverse order.

    A ``broker`` given at construction (a multi-node cluster a test started) is used as it is:
    the stack neither starts nor stops it.
    """

    options: StackOptions = field(default_factory=StackOptions)
    broker: LocalBroker | None = None
    postgres: EmbeddedPostgres | None = None
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    api_key: str = ""
    signing_key: str = ""
    intake_key_id: str = ""
    intake_key_secret: str = field(default="", repr=False)
    secrets_key: str = field(default="", repr=False)
    run_dir: Path = field(default_factory=Path)
    credentials: StackCredentials | None = None
    tls_ports: dict[str, int] = field(default_factory=dict)
    owns_broker: bool = field(default=False, init=False)

    def port(self, name: str) -> int:
        preferred = DEFAULT_PORTS[name]
        if self.options.prefer_default_ports and port_is_free(preferred):
            return preferred
        return free_port()

    def start(self, progress: Callable[[str], None] = lambda _: None) -> None:
        """Bring everything up; on failure, stop what was started and re-raise."""
        self.run_dir = self.options.run_dir or Path(
            tempfile.mkdtemp(prefix="herald-run-", dir=tempfile.gettempdir())
        )
        try:
            self._start(progress)
        except BaseException:
            self.stop()
            raise

    def _start(self, progress: Callable[[str], None]) -> None:
        if self.broker is not None:
            progress(f"using the {self.broker.kind} broker at {self.broker.bootstrap}")
        else:
            if self.options.broker == "kafka":
                progress("starting Apache Kafka (one KRaft node; first run fetches its jars)")
            else:
                progress("starting the Kafka-protocol broker (Tansu, in memory)")
            self.broker = start_local_broker(
                self.options.broker, port=self.port("broker"), folder=self.run_dir
            )
            self.owns_broker = True
        progress("starting PostgreSQL (embedded)")
        self.postgres = start_postgres(prefix="herald-run-pg-")
        progress("creating topics from the contracts catalog")
        asyncio.run(ensure_topics(self.kafka_settings(), all_topics()))
        self.secrets_key = new_secrets_key()
        self._define_processes()
        if self.credentials is None:
            raise RuntimeError("provider credentials were not generated")
        progress(f"creating the app {self.options.app_id!r} with its keys and credentials")
        demo = asyncio.run(
            provision(
                dsn=self.postgres.dsn,
                kafka=self.kafka_settings(),
                secrets_key=self.secrets_key,
                app_id=self.options.app_id,
                creds=self.credentials,
            )
        )
        self.api_key, self.signing_key = demo.api_key, demo.signing_key
        self.intake_key_id, self.intake_key_secret = demo.intake_key_id, demo.intake_key_secret
        deadline = time.monotonic() + 90
        progress("starting the provider emulators: " + ", ".join(EMULATORS))
        for name in EMULATORS:
            self.services[name].start()
        for name in EMULATORS:
            self.services[name].wait_ready(deadline)
        progress("starting services: " + ", ".join(n for n in self.services if n not in EMULATORS))
        for name, process in self.services.items():
            if name not in EMULATORS:
                process.start()
        for process in self.services.values():
            process.wait_ready(deadline)
        progress(f"the console is at {self.services['console'].url} (sign in with the app's key)")

    def kafka_settings(self) -> KafkaSettings:
        """Settings for a client of this stack's broker (provisioning, tests, benchmarks)."""
        if self.broker is None:
            raise RuntimeError("the broker is not running")
        return KafkaSettings(
            kafka_bootstrap=self.broker.bootstrap,
            kafka_idempotence=self.broker.kind == "kafka",
            kafka_replication_factor=self.options.kafka_replication,
        )

    def _common_env(self, port: int) -> dict[str, str]:
        if self.broker is None or self.postgres is None:
            raise RuntimeError("the broker and PostgreSQL start before any service")
        env = {
            "HERALD_KAFKA_BOOTSTRAP": self.broker.bootstrap,
            "HERALD_KAFKA_REPLICATION_FACTOR": str(self.options.kafka_replication),
            "HERALD_DATABASE_DSN": self.postgres.dsn,
            "HERALD_HTTP_HOST": "127.0.0.1",
            "HERALD_HTTP_PORT": str(port),
            "HERALD_LOG_LEVEL": self.options.log_level,
            "HERALD_SECRETS_KEYS": json.dumps([self.secrets_key]),
        }
        if self.broker.kind == "embedded":
            env["HERALD_KAFKA_IDEMPOTENCE"] = "false"
            env["HERALD_CONSUMER_FETCH_MAX_WAIT_MS"] = str(EMBEDDED_FETCH_WAIT_MS)
        else:
            env["HERALD_KAFKA_IDEMPOTENCE"] = "true"
        if self.options.fast_group_membership:
            env["HERALD_SESSION_TIMEOUT_MS"] = "3000"
            env["HERALD_HEARTBEAT_INTERVAL_MS"] = "1000"
        return env | self.options.service_env

    def _define_processes(self) -> None:
        logs = self.run_dir / "logs"
        fcm_port = self.port("fcm-emulator")
        creds = credentials.generate(
            self.run_dir / "secrets", fcm_token_uri=f"http://127.0.0.1:{fcm_port}/token"
        )
        self.credentials = creds
        self.tls_ports = {
            "apns-emulator": self.port("apns-emulator-tls"),
            "webpush-emulator": self.port("webpush-emulator-tls"),
            "fcm-emulator": self.port("fcm-emulator-tls"),
        }
        self._define_emulators(fcm_port, creds)
        # The local push service is an address and a port: the operator setting names both.
        webpush_emulator = f"127.0.0.1:{self.tls_ports['webpush-emulator']}"
        webpush_hosts = json.dumps([*DEFAULT_WEBPUSH_HOSTS, webpush_emulator])
        # Webhooks may reach this machine, so a receiver started beside the stack (a person's, a
        # test's) can be registered; a deployment allows no such network.
        local_webhooks = {"HERALD_WEBHOOK_ALLOWED_NETWORKS": json.dumps(["127.0.0.1/32"])}
        specs: dict[str, tuple[str, dict[str, str]]] = {
            "ingest": ("services.ingest", {}),
            "registry": (
                "services.registry",
                {"HERALD_WEBPUSH_ALLOWED_HOSTS": webpush_hosts, **local_webhooks},
            ),
            "scheduler": ("services.scheduler", {}),
            "badge-count": ("services.badge_count", {}),
            "tracker": ("services.tracker", {}),
            "webhooks": (
                "services.webhooks",
                {**local_webhooks, "HERALD_WEBHOOK_CA_BUNDLE": str(creds.ca_bundle)},
            ),
            "dispatcher-fcm": (
                "services.dispatcher",
                {
                    "HERALD_DISPATCHER_PLATFORM": "fcm",
                    "HERALD_FCM_BASE_URL": f"https://127.0.0.1:{self.tls_ports['fcm-emulator']}",
                    "HERALD_FCM_TOKEN_URI": creds.fcm_token_uri,
                    "HERALD_FCM_CA_BUNDLE": str(creds.ca_bundle),
                },
            ),
            "dispatcher-apns": (
                "services.dispatcher",
                {
                    "HERALD_DISPATCHER_PLATFORM": "apns",
                    "HERALD_APNS_HOST": "127.0.0.1",
                    "HERALD_APNS_PORT": str(self.tls_ports["apns-emulator"]),
                    "HERALD_APNS_CA_BUNDLE": str(creds.ca_bundle),
                },
            ),
            "dispatcher-webpush": (
                "services.dispatcher",
                {
                    "HERALD_DISPATCHER_PLATFORM": "webpush",
                    "HERALD_WEBPUSH_ALLOWED_HOSTS": webpush_hosts,
                    "HERALD_WEBPUSH_CA_BUNDLE": str(creds.ca_bundle),
                },
            ),
        }
        for name, (module, extra) in specs.items():
            port = self.port(name)
            env = {**self._common_env(port), **extra}
            self.services[name] = ServiceProcess(name, module, port, env, logs / f"{name}.log")
        self._define_console(logs)

    def _define_console(self, logs: Path) -> None:
        """The web console: it calls the services' HTTP APIs, so it is defined after them."""
        port = self.port("console")
        env = {
            "HERALD_HTTP_HOST": "127.0.0.1",
            "HERALD_HTTP_PORT": str(port),
            "HERALD_LOG_LEVEL": self.options.log_level,
            "HERALD_CONSOLE_INGEST_URL": self.services["ingest"].url,
            "HERALD_CONSOLE_REGISTRY_URL": self.services["registry"].url,
            "HERALD_CONSOLE_TRACKER_URL": self.services["tracker"].url,
            "HERALD_CONSOLE_BADGE_URL": self.services["badge-count"].url,
            "HERALD_CONSOLE_SESSION_KEYS": json.dumps([Fernet.generate_key().decode()]),
        }
        self.services["console"] = ServiceProcess(
            "console", "services.console", port, env, logs / "console.log"
        )

    def _define_emulators(self, fcm_port: int, creds: StackCredentials) -> None:
        """The three provider emulators; the TLS ones serve the provider API on a second port."""
        logs = self.run_dir / "logs"
        common = {
            "HERALD_HTTP_HOST": "127.0.0.1",
            "HERALD_LOG_LEVEL": self.options.log_level,
            "HERALD_EMULATOR_LATENCY_MS": str(self.options.emulator_latency_ms),
        }
        tls = {"CERT_FILE": str(creds.server.cert), "KEY_FILE": str(creds.server.key)}
        envs: dict[str, tuple[str, int, dict[str, str]]] = {
            "fcm-emulator": (
                "services.emulators.fcm",
                fcm_port,
                {
                    **{f"HERALD_FCM_EMULATOR_{k}": v for k, v in tls.items()},
                    "HERALD_FCM_EMULATOR_TLS_PORT": str(self.tls_ports["fcm-emulator"]),
                    "HERALD_FCM_EMULATOR_SERVICE_ACCOUNTS": json.dumps([str(creds.fcm_account)]),
                },
            ),
            "apns-emulator": (
                "services.emulators.apns",
                self.port("apns-emulator"),
                {
                    **{f"HERALD_APNS_EMULATOR_{k}": v for k, v in tls.items()},
                    "HERALD_APNS_EMULATOR_TLS_PORT": str(self.tls_ports["apns-emulator"]),
                    "HERALD_APNS_EMULATOR_AUTH_KEYS": json.dumps([str(creds.apns_key)]),
                    "HERALD_APNS_EMULATOR_TEAM_ID": credentials.APNS_TEAM_ID,
                    "HERALD_APNS_EMULATOR_TOPICS": json.dumps([credentials.APNS_TOPIC]),
                },
            ),
            "webpush-emulator": (
                "services.emulators.webpush",
                self.port("webpush-emulator"),
                {
                    **{f"HERALD_WEBPUSH_EMULATOR_{k}": v for k, v in tls.items()},
                    "HERALD_WEBPUSH_EMULATOR_TLS_PORT": str(self.tls_ports["webpush-emulator"]),
                },
            ),
        }
        for name, (module, port, extra) in envs.items():
            env = {**common, "HERALD_HTTP_PORT": str(port), **extra}
            self.services[name] = ServiceProcess(name, module, port, env, logs / f"{name}.log")

    def stop(self) -> None:
        """Stop services (newest first), then the database and the broker it started."""
        for process in reversed(list(self.services.values())):
            process.stop()
        if self.postgres is not None:
            self.postgres.stop()
            self.postgres = None
        if self.broker is not None and self.owns_broker:
            self.broker.stop()
            self.broker = None
        secrets_dir = self.run_dir / "secrets"
        if secrets_dir.exists():
            shutil.rmtree(secrets_dir, ignore_errors=True)
