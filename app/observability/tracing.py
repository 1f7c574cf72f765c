"""Traces in the OpenTelemetry standard: a server span per request, a child span per database statement, exported
over OTLP/HTTP by the SDK's batch processor, and the ids of the active span on every log record.

Switched on by OpenTelemetry's own variables (app.settings.Settings.traces_endpoint). Off, the outer request layer
(app.http.observe) starts no span and the SDK is never imported: requests cost what they cost before. The W3C
propagator reads the caller's `traceparent` either way: on, the server span continues the caller's trace; off, the
caller's trace id still joins the log lines of the request to the caller's.

The server span is this service's own, through the OpenTelemetry API, rather than opentelemetry-instrumentation-asgi
(which Litestar's plugin wraps): that middleware names the span by the path until it is renamed, records the full URL
with its query string and the Host header a client sent (`http.url`, `http.target`, `http.host`), adds a span for
every send and receive and metric instruments of its own; these spans record what the HTTP conventions require and
nothing a client could put a secret in. Database spans are ours too: opentelemetry-instrumentation-asyncpg patches
asyncpg's classes for the whole process (for the global provider, for good), names spans by the statement's first
word, and SQLite writes share one commit that no per-connection instrumentation can attribute to a request.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Generator
from contextlib import asynccontextmanager, contextmanager, suppress
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, NamedTuple

import structlog
from litestar.types import HTTPScope
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from structlog.typing import EventDict

from app import SERVICE_NAME, __version__

if TYPE_CHECKING:
    from litestar import Litestar
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace import TracerProvider

    from app.settings import Settings

# Probes and scrapes: several a second from every kubelet and Prometheus, and nothing anyone wants to trace.
UNTRACED_PATHS = frozenset({"/health/live", "/health/ready", "/metrics"})
# How long the spans still queued at shutdown get to reach the collector, after the requests drained (for up to
# SHUTDOWN_TIMEOUT): a live collector takes milliseconds for the batch processor's whole queue, and the grace periods
# of the deploy files (Compose, Kubernetes) leave this much beyond the draining.
FLUSH_TIMEOUT_S = 2.0
PROPAGATOR = TraceContextTextMapPropagator()

# structlog's own, not app.observability.logs.get_logger: that module imports this one's processor.
logger = structlog.get_logger("app.tracing")


def trace_context_of(traceparent: bytes | None, tracestate: bytes | None = None) -> Context:
    """The caller's trace context (W3C `traceparent` and `tracestate`); an empty one when absent or malformed."""
    carrier: dict[str, str] = {}
    if traceparent is not None:
        carrier["traceparent"] = traceparent.decode("latin-1")
    if tracestate is not None:
        carrier["tracestate"] = tracestate.decode("latin-1")
    return PROPAGATOR.extract(carrier)


def caller_trace_id(traceparent: bytes) -> str | None:
    """The trace id of a caller's `traceparent`, as 32 lower-case hex digits; None when it is malformed."""
    span_context = trace.get_current_span(trace_context_of(traceparent)).get_span_context()
    return trace.format_trace_id(span_context.trace_id) if span_context.is_valid else None


def add_trace_ids(_logger: Any, _method: str, event: EventDict) -> EventDict:
    """A structlog processor: the active span's `trace_id` and `span_id`, the fields tracing backends link logs by."""
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        event["trace_id"] = trace.format_trace_id(span_context.trace_id)
        event["span_id"] = trace.format_span_id(span_context.span_id)
    return event


class Tracing:
    """The tracer of a running app. Made when the app starts, so in each worker process after uvicorn started it
    (a provider's export thread does not survive a fork); flushed and shut down when the app stops."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.tracer: trace.Tracer = trace.NoOpTracer()

    @asynccontextmanager
    async def lifespan(self, _app: Litestar) -> AsyncGenerator[None]:
        # The SDK only where tracing is on: a service without it never imports it.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: PLC0415
        from opentelemetry.sdk.resources import OTELResourceDetector, Resource  # noqa: PLC0415
        from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
        from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415

        defaults = {
            "service.name": SERVICE_NAME,
            "service.version": __version__,
            "deployment.environment.name": self.settings.environment,
        }
        # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override these defaults, as operators expect.
        resource = Resource.create({**defaults, **OTELResourceDetector().detect().attributes})
        # The sampler comes from OTEL_TRACES_SAMPLER(_ARG), the exporter's headers and timeout from OTEL_EXPORTER_*.
        provider = TracerProvider(resource=resource)
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=self.settings.traces_endpoint)))
        self.tracer = provider.get_tracer(SERVICE_NAME, __version__)
        try:
            yield
        finally:
            self.tracer = trace.NoOpTracer()
            await shut_down(provider, min(FLUSH_TIMEOUT_S, self.settings.shutdown_timeout))

    @contextmanager
    def server_span(
        self, scope: HTTPScope, traceparent: bytes | None, tracestate: bytes | None, user_agent: bytes | None
    ) -> Generator[ServerSpan | None]:
        """The request's server span, in the caller's trace when it sent one; none for probes and scrapes."""
        if scope["path"] in UNTRACED_PATHS:
            yield None
            return
        method = scope["method"]
        span = self.tracer.start_span(
            method,  # until the route is known: the path would make a name per item
            context=trace_context_of(traceparent, tracestate),
            kind=SpanKind.SERVER,
            attributes=request_attributes(scope, user_agent),
            # An exception's message may quote what a client sent: the status says enough.
            record_exception=False,
            set_status_on_exception=False,
        )
        # What start_as_current_span does, without the context manager it wraps around it for every request.
        with trace.use_span(span, end_on_exit=True, record_exception=False, set_status_on_exception=False):
            yield ServerSpan(span, method)


async def shut_down(provider: TracerProvider, timeout_s: float) -> None:
    """Export the spans still queued and stop the export thread, for at most `timeout_s`.

    In a daemon thread of its own, not the loop's executor: with the collector down, exporting retries for its own
    timeout, and a process must not wait at exit for a thread the loop stopped waiting for.
    """
    loop = asyncio.get_running_loop()
    done = asyncio.Event()

    def shut_down_provider() -> None:
        try:
            provider.shutdown()
        finally:
            with suppress(RuntimeError):  # the loop closed after it stopped waiting
                loop.call_soon_threadsafe(done.set)

    threading.Thread(target=shut_down_provider, name="otel-shutdown", daemon=True).start()
    try:
        await asyncio.wait_for(done.wait(), timeout_s)
    except TimeoutError:
        logger.warning("spans not exported before the shutdown timeout", timeout_s=timeout_s)


class ServerSpan(NamedTuple):
    """A request's server span, current while the request is handled."""

    span: trace.Span
    method: str

    def responded(self, route: str | None, status: int, tenant: str | None = None) -> None:
        """Name the span by the matched route template (None where no route matched) and give it the status, and
        the caller's tenant where its token named one (the access line's `tenant`)."""
        if route is not None:
            self.span.update_name(f"{self.method} {route}")
            self.span.set_attribute("http.route", route)
        if tenant is not None:
            # No OpenTelemetry convention names a tenant: the attribute is the application's own, under `app.`.
            self.span.set_attribute("app.tenant", tenant)
        self.span.set_attribute("http.response.status_code", status)
        if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            # The conventions: a server span is an error on 5xx only; a 4xx is the client's.
            self.span.set_status(Status(StatusCode.ERROR))
            self.span.set_attribute("error.type", str(status))


def request_attributes(scope: HTTPScope, user_agent: bytes | None) -> dict[str, str | int]:
    """The HTTP server conventions' attributes known when a request arrives: no header but the user agent, no query,
    and the address the service listens on rather than the Host a client sent."""
    attributes: dict[str, str | int] = {
        "http.request.method": scope["method"],
        "url.scheme": scope["scheme"],
        "url.path": scope["path"],
        "network.protocol.version": scope["http_version"],
    }
    server = scope.get("server")  # pyright: ignore[reportUnknownMemberType] - optional in ASGI
    if server is not None and server[1] is not None:
        attributes["server.address"], attributes["server.port"] = server[0], server[1]
    client = scope.get("client")  # pyright: ignore[reportUnknownMemberType] - optional in ASGI
    if client is not None:
        attributes["client.address"] = client[0]
    if user_agent is not None:
        attributes["user_agent.original"] = user_agent.decode("latin-1")
    return attributes
