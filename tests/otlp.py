"""A real OTLP/HTTP receiver on loopback: what the SDK's exporter sends, decoded with the official protobuf messages.

It answers as a collector does (200 and an empty ExportTraceServiceResponse), keeps every request's raw bytes (to
search for what must never be exported) and every span, flattened.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

TRACES_PATH = "/v1/traces"


@dataclass(frozen=True)
class Span:
    name: str
    trace_id: str  # 32 lower-case hex digits, as logs carry them
    span_id: str  # 16
    parent_span_id: str  # "" for a root span
    trace_state: str  # W3C tracestate, "" when none
    kind: str  # "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT"...
    attributes: dict[str, Any]
    status: str  # "STATUS_CODE_UNSET", "STATUS_CODE_ERROR"...
    resource: dict[str, Any]


def values(attributes: list[Any]) -> dict[str, Any]:
    """OTLP's key-value list as a dict of plain values."""
    plain: dict[str, Any] = {}
    for attribute in attributes:
        value = attribute.value
        kind = value.WhichOneof("value")
        plain[attribute.key] = getattr(value, kind) if kind else None
    return plain


@dataclass
class Receiver:
    url: str  # the base, for OTEL_EXPORTER_OTLP_ENDPOINT
    requests: list[bytes] = field(default_factory=list[bytes])
    spans: list[Span] = field(default_factory=list[Span])
    lock: threading.Lock = field(default_factory=threading.Lock)

    def receive(self, body: bytes) -> None:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        with self.lock:
            self.requests.append(body)
            for resource_spans in request.resource_spans:
                resource = values(list(resource_spans.resource.attributes))
                for scope_spans in resource_spans.scope_spans:
                    self.spans.extend(
                        Span(
                            name=span.name,
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_span_id=span.parent_span_id.hex(),
                            trace_state=span.trace_state,
                            kind=MessageToDict(span).get("kind", "SPAN_KIND_UNSPECIFIED"),
                            attributes=values(list(span.attributes)),
                            status=MessageToDict(span.status).get("code", "STATUS_CODE_UNSET"),
                            resource=resource,
                        )
                        for span in scope_spans.spans
                    )

    def wait_for(self, check: Callable[[list[Span]], bool], timeout_s: float = 10.0) -> list[Span]:
        """The spans received, once `check` holds for them; fails the test at the deadline."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self.lock:
                spans = list(self.spans)
            if check(spans):
                return spans
            assert time.monotonic() < deadline, f"not received within {timeout_s} s: {spans}"
            time.sleep(0.05)


@contextmanager
def running_receiver(*, keep: bool = True) -> Generator[Receiver]:
    """An OTLP/HTTP receiver on a free loopback port, stopped afterwards; `keep=False` answers without decoding or
    keeping anything (a sink, for the benchmark)."""
    receiver: Receiver | None = None

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            if self.path != TRACES_PATH or self.headers.get("content-type") != "application/x-protobuf":
                self.send_error(404)
                return
            assert receiver is not None
            if keep:
                receiver.receive(body)
            answer = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class names it so
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = Receiver(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
