"""OTLP/gRPC: ``opentelemetry.proto.collector.trace.v1.TraceService/Export`` on grpcio.

Answers (see :mod:`.service`) map to gRPC status codes; a refusal carries a
``google.rpc.Status`` in the ``grpc-status-details-bin`` trailer (what the Collector's OTLP
exporter reads), and ``UNAVAILABLE`` adds a ``google.rpc.RetryInfo`` detail with the delay to
wait, also as the ``google.rpc.retryinfo-bin`` trailer that the Python SDK's exporter reads.

The queue is bounded: grpcio runs at most ``max_workers`` RPCs at once (its
``maximum_concurrent_rpcs``), one per worker thread, so none waits in an unbounded queue for a
thread (which made senders wait far past ``--queue-timeout``); the service admits
``max_workers - 8`` of them and answers the others ``UNAVAILABLE`` with ``RetryInfo`` at once.
Beyond ``max_workers`` RPCs at once grpcio itself answers ``RESOURCE_EXHAUSTED``.

grpcio itself enforces the size limit (``grpc.max_receive_message_length``, applied to the
message after gzip decompression) with ``RESOURCE_EXHAUSTED``, and decompresses gzip requests.
``SO_REUSEPORT`` is off, so a second receiver on the same port fails to start instead of
silently sharing it.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from ...errors import ConfigError
from .decoded import DecodedRequest, Limits
from .otlp_proto import decode_protobuf
from .service import Answer, AnswerKind, ExportService

logger = logging.getLogger("opentelemetry.exporter.costledger.serve")

_CODES = {
    AnswerKind.INVALID: grpc.StatusCode.INVALID_ARGUMENT,
    AnswerKind.UNSUPPORTED: grpc.StatusCode.INVALID_ARGUMENT,
    AnswerKind.TOO_LARGE: grpc.StatusCode.RESOURCE_EXHAUSTED,
    AnswerKind.UNAUTHENTICATED: grpc.StatusCode.UNAUTHENTICATED,
    AnswerKind.UNAVAILABLE: grpc.StatusCode.UNAVAILABLE,
}


SERVICE_NAME = "opentelemetry.proto.collector.trace.v1.TraceService"


class TraceService:
    """``TraceService/Export``: every path returns a response; nothing is raised to grpcio.

    The method takes the request's raw bytes (no deserializer registered), so that the
    protobuf parse happens here: after admission, and with an unreadable message answered
    ``INVALID_ARGUMENT`` (a failure of grpcio's own deserializer would be ``INTERNAL``).
    """

    def __init__(self, service: ExportService, limits: Limits, retry_after: float) -> None:
        self._service = service
        self._limits = limits
        self._retry_after = retry_after

    def handler(self) -> grpc.GenericRpcHandler:
        return grpc.method_handlers_generic_handler(
            SERVICE_NAME,
            {
                "Export": grpc.unary_unary_rpc_method_handler(
                    self.export,
                    request_deserializer=None,
                    response_serializer=_serialize_response,
                )
            },
        )

    def export(self, request: bytes, context: Any) -> trace_service_pb2.ExportTraceServiceResponse:
        try:
            header = None
            for key, value in context.invocation_metadata() or ():
                if key == "authorization":
                    header = value
                    break
            answer = self._service.authorize("grpc", header, context.peer())
            if answer is None:
                answer = self._service.export(
                    "grpc", lambda: self._decode(request), time_left=context.time_remaining()
                )
            return respond(answer, context)
        except Exception:
            logger.exception("costledger serve: unexpected error in the gRPC handler")
            answer = Answer(AnswerKind.UNAVAILABLE, "internal error", retry_after=self._retry_after)
            return respond(answer, context)

    def _decode(self, request: bytes) -> DecodedRequest:
        decoded = decode_protobuf(request, self._limits)
        decoded.source = (request, "protobuf")
        return decoded


def _serialize_response(response: trace_service_pb2.ExportTraceServiceResponse) -> bytes:
    data: bytes = response.SerializeToString()
    return data


def respond(answer: Answer, context: Any) -> trace_service_pb2.ExportTraceServiceResponse:
    """Set ``context``'s status for ``answer`` and return the response message."""
    response = trace_service_pb2.ExportTraceServiceResponse()
    if answer.kind is AnswerKind.OK:
        return response
    if answer.kind is AnswerKind.PARTIAL:
        response.partial_success.rejected_spans = answer.rejected
        response.partial_success.error_message = answer.message
        return response
    code = _CODES[answer.kind]
    status = status_pb2.Status(code=code.value[0], message=answer.message)
    trailers: list[tuple[str, bytes]] = []
    if answer.kind is AnswerKind.UNAVAILABLE:
        info = retry_info(answer.retry_after)
        detail = any_pb2.Any()
        detail.Pack(info)
        status.details.append(detail)
        trailers.append(("google.rpc.retryinfo-bin", info.SerializeToString()))
    trailers.append(("grpc-status-details-bin", status.SerializeToString()))
    context.set_trailing_metadata(trailers)
    context.set_code(code)
    context.set_details(answer.message)
    return response


def retry_info(seconds: float) -> error_details_pb2.RetryInfo:
    whole = int(seconds)
    delay = duration_pb2.Duration(seconds=whole, nanos=int((seconds - whole) * 1e9))
    return error_details_pb2.RetryInfo(retry_delay=delay)


def build_grpc_server(
    service: ExportService,
    endpoint: str,
    *,
    limits: Limits,
    retry_after: float,
    max_request_size: int,
    max_workers: int,
    tls: tuple[bytes, bytes] | None = None,
) -> tuple[grpc.Server, int]:
    """A started-to-be gRPC server bound to ``endpoint`` (``host:port``); returns it and the port.

    ``tls`` is ``(private key PEM, certificate chain PEM)``.
    """
    server = grpc.server(
        ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="costledger-grpc"),
        maximum_concurrent_rpcs=max_workers,
        options=[
            ("grpc.max_receive_message_length", max_request_size),
            ("grpc.so_reuseport", 0),
        ],
    )
    server.add_generic_rpc_handlers((TraceService(service, limits, retry_after).handler(),))
    try:
        if tls is not None:
            credentials = grpc.ssl_server_credentials([tls])
            port = server.add_secure_port(endpoint, credentials)
        else:
            port = server.add_insecure_port(endpoint)
    except RuntimeError as exc:
        raise ConfigError(
            f"cannot listen for OTLP/gRPC on {endpoint} ({exc}); is the port in use? Choose"
            " another with --grpc-endpoint, or turn gRPC off with --grpc-endpoint none"
        ) from None
    if not port:
        raise ConfigError(f"cannot listen for OTLP/gRPC on {endpoint}; choose another address")
    return server, port
