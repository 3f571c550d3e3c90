"""The one translation of KafkaSettings into connection options, so every producer, consumer and
admin client Herald makes, and its FastStream broker, connects with the same TLS and SASL.
"""

from __future__ import annotations

import ssl
from typing import TypedDict

from aiokafka.conn import create_conn
from aiokafka.errors import KafkaError
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from shared.settings import KafkaSettings, env_name


class BrokerAccessError(RuntimeError):
    """No broker of the list could be reached, or each refused the TLS or SASL handshake."""


class ClientOptions(TypedDict):
    """Keyword arguments every aiokafka client (producer, consumer, admin) accepts."""

    bootstrap_servers: list[str]
    security_protocol: str
    ssl_context: ssl.SSLContext | None
    sasl_mechanism: str
    sasl_plain_username: str | None
    sasl_plain_password: str | None


def bootstrap_servers(settings: KafkaSettings) -> list[str]:
    """The broker list as a list: FastStream passes a string on as one host."""
    return [host.strip() for host in settings.kafka_bootstrap.split(",") if host.strip()]


def tls_context(settings: KafkaSettings) -> ssl.SSLContext | None:
    """A verifying TLS context (the system's CAs unless a CA file is set), or None without TLS."""
    if not settings.kafka_security_protocol.endswith("SSL"):
        return None
    context = ssl.create_default_context(cafile=settings.kafka_ssl_ca_file)
    if settings.kafka_ssl_cert_file is not None:
        password = settings.kafka_ssl_key_password
        context.load_cert_chain(
            settings.kafka_ssl_cert_file,
            keyfile=settings.kafka_ssl_key_file,
            password=password.get_secret_value() if password is not None else None,
        )
    return context


def _sasl_credentials(settings: KafkaSettings) -> tuple[str, str] | None:
    if settings.kafka_sasl_username is None or settings.kafka_sasl_password is None:
        return None
    return settings.kafka_sasl_username, settings.kafka_sasl_password.get_secret_value()


def client_options(settings: KafkaSettings) -> ClientOptions:
    """Where and how to connect, for ``AIOKafkaProducer/Consumer/AdminClient(**options, ...)``."""
    credentials = _sasl_credentials(settings)
    return ClientOptions(
        bootstrap_servers=bootstrap_servers(settings),
        security_protocol=settings.kafka_security_protocol,
        ssl_context=tls_context(settings),
        sasl_mechanism=settings.kafka_sasl_mechanism or "PLAIN",
        sasl_plain_username=credentials[0] if credentials else None,
        sasl_plain_password=credentials[1] if credentials else None,
    )


def broker_security(settings: KafkaSettings) -> BaseSecurity | None:
    """The same options in FastStream's terms, for ``KafkaBroker(security=...)``."""
    context = tls_context(settings)
    credentials = _sasl_credentials(settings)
    if credentials is None:
        return BaseSecurity(ssl_context=context) if context is not None else None
    use_ssl = settings.kafka_security_protocol == "SASL_SSL"
    kind = {
        "PLAIN": SASLPlaintext,
        "SCRAM-SHA-256": SASLScram256,
        "SCRAM-SHA-512": SASLScram512,
    }[settings.kafka_sasl_mechanism or "PLAIN"]
    return kind(*credentials, ssl_context=context, use_ssl=use_ssl)


async def refusal(settings: KafkaSettings) -> BrokerAccessError:
    """Why each bootstrap broker turns us away, found by connecting as every client does.

    aiokafka clients only log each broker's reason and raise "unable to bootstrap"; an operator
    with a wrong password or CA needs the reason itself.
    """
    options = client_options(settings)
    reasons = []
    for server in options["bootstrap_servers"]:
        host, _, port = server.rpartition(":")
        try:
            connection = await create_conn(
                host,
                int(port),
                request_timeout_ms=10_000,
                ssl_context=options["ssl_context"],
                security_protocol=options["security_protocol"],
                sasl_mechanism=options["sasl_mechanism"],
                sasl_plain_username=options["sasl_plain_username"],
                sasl_plain_password=options["sasl_plain_password"],
            )
        except (OSError, TimeoutError, KafkaError) as error:
            reasons.append(f"{server}: {error}")
        else:
            connection.close()
    protocol = f"{env_name('kafka_security_protocol')}={settings.kafka_security_protocol}"
    return BrokerAccessError(
        f"no broker of {env_name('kafka_bootstrap')} let us in ({protocol}): "
        + ("; ".join(reasons) or "each accepted a connection but refused the client")
    )


#: The smallest fetch a consumer asks for, however many partitions share its read-ahead budget.
MIN_FETCH_BYTES = 64 * 1024


def fetch_bytes(read_ahead_bytes: int, partitions: int) -> int:
    """The size of one fetch so that a consumer holds about ``read_ahead_bytes`` read ahead.

    aiokafka keeps one fetched chunk per assigned partition until the handler has taken all of it,
    and the embedded broker fills each chunk up to the fetch's whole size (it ignores the
    per-partition limit): with the whole budget per fetch, a consumer with a backlog held a
    budget per partition (8 x 4 MiB on push.webpush; make bench, 1M devices).
    """
    return max(MIN_FETCH_BYTES, read_ahead_bytes // max(1, partitions))
