"""Pure ASGI middleware: request id, access log and metrics, request body limit."""

from __future__ import annotations

import logging
import time
from typing import Any

from shared.errors import PayloadTooLarge, problem_response
from shared.ids import new_id
from shared.logs import request_id_var
from shared.metrics import HTTP_LATENCY, HTTP_REQUESTS

log = logging.getLogger("fupin.http")


class RequestContext:
    def __init__(self, app: Any, *, service: str) -> None:
        self.app, self.service = app, service

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        rid = headers.get(b"x-request-id", b"").decode("latin-1")[:64] or new_id()
        token = request_id_var.set(rid)
        status = 500
        started = time.perf_counter()

        async def send_wrapper(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", rid.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            service = path.split("/")[3] if path.startswith("/api/v1/") else self.service
            method = scope["method"]
            counter, latency = _series(service, method, path, status)
            counter.inc()
            latency.observe(elapsed)
            if log.isEnabledFor(logging.INFO):
                log.info("%s %s %s", method, path, status,
                         extra={"method": method, "path": path, "status": status,
                                "duration_ms": round(elapsed * 1000, 2)})
            request_id_var.reset(token)


_SERIES: dict[tuple[str, str, str, int], tuple[Any, Any]] = {}


def _series(service: str, method: str, path: str, status: int) -> tuple[Any, Any]:
    """The request counter and latency histogram of one label set, looked up once: labels are
    route templates, so the set is bounded by the routes (× methods × statuses)."""
    key = (service, method, path, status)
    found = _SERIES.get(key)
    if found is None:
        found = _SERIES[key] = (HTTP_REQUESTS.labels(service, method, path, str(status)),
                                HTTP_LATENCY.labels(service, method, path))
    return found


class BodyLimit:
    """413 for bodies over the limit; multipart uploads (imports) get the larger limit."""

    def __init__(self, app: Any, *, max_bytes: int, max_upload_bytes: int) -> None:
        self.app, self.max_bytes, self.max_upload = app, max_bytes, max_upload_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        ctype = headers.get(b"content-type", b"").decode("latin-1")
        limit = self.max_upload if ctype.startswith("multipart/") else self.max_bytes
        if scope.get("path", "").endswith("/import") or "/imports/" in scope.get("path", ""):
            limit = self.max_upload
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(limit)(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> dict:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _too_large_problem(limit)  # rendered by the Problem handler
            return message

        await self.app(scope, limited_receive, send)


def _too_large_problem(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge("body_too_large", f"请求体超过上限 {limit} 字节 (request body too large)")


def _too_large(limit: int) -> Any:
    return problem_response(_too_large_problem(limit))
