"""What every request passes through before a route sees it, outermost first:

- `RequestContext`: a request id (the client's `X-Request-ID` when it is a sane token, else a new
  one) echoed in the response, one JSON log line per request (never the body), and the request
  and latency metrics by route template;
- `RateLimit`: a token bucket per client (the SHA-256 of its bearer token, else its address),
  answered with 429 and `Retry-After`;
- `BodySizeLimit`: 413 for a body over the limit, by its Content-Length or, when it streams
  without one (chunked), by counting the bytes as they arrive and reading no further.

All three are plain ASGI middleware, so a body is never buffered here. `install` also registers
a handler that turns validation errors into one readable `detail` line, safe to encode whatever
was sent (NaN, lone surrogates), and documents these answers (400, 413, 422, 429) in the OpenAPI
schema.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
import os
import re
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import metrics
from api.logging import LOGGER_NAME, configure_logging, request_id_var
from api.settings import Settings

log = logging.getLogger(LOGGER_NAME)

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Probes and scrapers are never throttled: a busy client must not make the service look dead.
UNLIMITED_PATHS = frozenset({"/health", "/ready", "/metrics"})
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "unmatched"
MAX_CLIENTS = 50_000


async def _send_json(
    send: Send, status: int, body: dict[str, Any], headers: Iterable[tuple[str, str]] = ()
) -> None:
    payload = JSONResponse(body).body
    raw = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


# -- body size -----------------------------------------------------------------------------------


class _BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    """413 for a request body larger than `max_bytes`, with or without a Content-Length."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _detail(self) -> str:
        return f"request body is larger than the limit of {self.max_bytes} bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _send_json(send, 413, {"detail": self._detail()}, [("connection", "close")])
            return

        received = 0
        too_large = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, too_large
            if too_large:
                raise _BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    too_large = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if too_large:
                return  # whatever the app answers to the cut-off body, the answer is 413
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not too_large:
                raise  # anything raised after the cut-off is the cut-off's doing
        if too_large and not started:
            await _send_json(send, 413, {"detail": self._detail()}, [("connection", "close")])


# -- rate limit ----------------------------------------------------------------------------------


def client_key(scope: Scope) -> str:
    """Who a request counts against: its bearer token (hashed, never kept), else its address."""
    authorization = Headers(scope=scope).get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        secret = token.strip() if scheme.lower() == "bearer" and token.strip() else authorization
        return "key:" + hashlib.sha256(secret.encode("utf-8", "surrogateescape")).hexdigest()
    client = scope.get("client")
    return "addr:" + (client[0] if client else "unknown")


class TokenBuckets:
    """Token buckets of `capacity` tokens refilled at `capacity` per minute, one per key.

    Memory is bounded: beyond `max_keys` clients the least recently seen bucket is forgotten
    (it would have refilled long ago unless it is hammered, and then it is not least recent).
    """

    def __init__(
        self,
        per_minute: int,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_CLIENTS,
    ) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float:
        """Take one token; 0 when granted, else the seconds until one is available."""
        now = self.clock()
        tokens, stamp = self._buckets.pop(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - stamp) * self.rate)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.rate
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return wait


class RateLimit:
    """429 with Retry-After once a client spends its bucket; `per_minute=0` turns it off.

    The buckets live in this worker process: with N workers a client may get up to N times the
    limit. Behind a reverse proxy, run uvicorn with `--proxy-headers` and the proxy in
    `--forwarded-allow-ips`, or every keyless client shares the proxy's address.
    """

    def __init__(
        self, app: ASGIApp, per_minute: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.app = app
        self.per_minute = per_minute
        self.buckets = TokenBuckets(per_minute, clock) if per_minute > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.buckets is None or scope["type"] != "http" or scope["path"] in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        wait = self.buckets.take(client_key(scope))
        if wait == 0.0:
            await self.app(scope, receive, send)
            return
        retry_after = max(1, math.ceil(wait))
        detail = (
            f"too many requests: the limit is {self.per_minute} per minute per client; "
            f"retry after {retry_after} s"
        )
        await _send_json(send, 429, {"detail": detail}, [("retry-after", str(retry_after))])


# -- request id, access log, request metrics -----------------------------------------------------


class RouteTemplates:
    """The path template of a request ("/posts/{post_id}"), so metric labels stay few.

    The router records the route it matched in the scope. A request answered before routing
    (413, 429) is matched here against the templates of the app's OpenAPI schema instead.
    """

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self._patterns: list[tuple[re.Pattern[str], str]] | None = None

    def _compile(self) -> list[tuple[re.Pattern[str], str]]:
        try:
            paths = list(self.app.openapi().get("paths", {}))
        except Exception:  # a broken schema must not break requests
            log.exception("cannot read route templates from the OpenAPI schema")
            paths = []
        # Literal paths before templated ones: "/models/retrain" is not "/models/{version}".
        paths.sort(key=lambda p: (p.count("{"), -len(p)))
        return [
            (re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(p)) + "$"), p)
            for p in paths
        ]

    def __call__(self, scope: Scope) -> str:
        path = getattr(scope.get("route"), "path", None)
        if isinstance(path, str):
            return path
        if self._patterns is None:
            self._patterns = self._compile()
        for pattern, template in self._patterns:
            if pattern.match(scope["path"]):
                return template
        return UNMATCHED_ROUTE


# Request ids need to be unique, not secret: a random per-process prefix and a counter (no
# system call per request, unlike uuid4). A forked worker draws its own prefix.
_id_prefix = ""
_id_counter = itertools.count(1)


def _reset_request_ids() -> None:
    global _id_prefix, _id_counter
    _id_prefix = uuid.uuid4().hex[:16]
    _id_counter = itertools.count(1)


_reset_request_ids()
os.register_at_fork(after_in_child=_reset_request_ids)


def _new_request_id() -> str:
    return f"{_id_prefix}{next(_id_counter):016x}"


class RequestContext:
    """Request id in and out, one log line and the request metrics per HTTP request."""

    def __init__(self, app: ASGIApp, routes: RouteTemplates) -> None:
        self.app = app
        self.route_template = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        given = Headers(scope=scope).get(REQUEST_ID_HEADER)
        request_id = given if given and _REQUEST_ID_RE.fullmatch(given) else _new_request_id()
        token = request_id_var.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        failed = False

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            failed, status = True, 500
            log.exception("unhandled error", extra=self._fields(scope, status, started))
            raise
        finally:
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            metrics.observe_request(
                method, self.route_template(scope), status, time.perf_counter() - started
            )
            level = logging.INFO if status < 500 else logging.ERROR
            if not failed and log.isEnabledFor(level):
                log.log(level, "request", extra=self._fields(scope, status, started))
            request_id_var.reset(token)

    def _fields(self, scope: Scope, status: int, started: float) -> dict[str, Any]:
        client = scope.get("client")
        return {
            "request_id": request_id_var.get(),
            "method": scope["method"],
            "path": scope["path"][:200],
            "route": self.route_template(scope),
            "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            "client": client[0] if client else None,
        }


# -- validation errors ---------------------------------------------------------------------------


def _json_safe(value: Any) -> Any:
    """`value` with non-finite floats as strings and lone surrogates escaped, so it encodes."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_json_safe(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def _describe(error: dict[str, Any]) -> str:
    loc = [str(p) for p in error.get("loc", ())]
    if error.get("type") == "json_invalid":
        reason = str((error.get("ctx") or {}).get("error", "")).removesuffix(" at")
        where = f" at position {loc[1]}" if len(loc) > 1 else ""
        return f"request body is not valid JSON ({reason}{where})"
    if loc and loc[0] in ("body", "query", "path", "header", "cookie"):
        loc = loc[1:] if loc[0] == "body" else loc
    where = ".".join(loc) or "request body"
    return f"{where}: {error.get('msg', 'invalid')}"


def validation_error_body(errors: list[dict[str, Any]], shown: int = 5) -> dict[str, Any]:
    """The 422 body: a readable `detail` line and the structured `errors`."""
    safe = _json_safe(jsonable_encoder(errors))
    lines = list(dict.fromkeys(_describe(e) for e in safe))  # a union reports once per member
    more = [f"and {len(lines) - shown} more"] if len(lines) > shown else []
    return {"detail": "; ".join(lines[:shown] + more), "errors": safe}


def _is_json_type(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def not_json_hint(content_type: str | None) -> str:
    """The 422 detail for a body sent as something other than JSON (FastAPI reads a body as
    JSON only under a JSON Content-Type: `curl -d` alone sends a form)."""
    sent = f"it was sent as {content_type!r}" if content_type else "it was sent without one"
    return f"the request body must be JSON sent with Content-Type: application/json; {sent}"


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    errors = list(exc.errors()) if isinstance(exc, RequestValidationError) else []
    body = validation_error_body(errors)
    content_type = request.headers.get("content-type")
    whole_body = any(tuple(e.get("loc", ())) == ("body",) for e in errors)
    if whole_body and not _is_json_type(content_type or ""):
        body["detail"] = not_json_hint(content_type)
    return JSONResponse(body, status_code=422)


# -- OpenAPI -------------------------------------------------------------------------------------


def _error_schema(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
    }
    if headers:
        response["headers"] = headers
    return response


def _document_limits(app: FastAPI) -> None:
    """Add the middleware's answers (413, 429) and the 422 body shape to the OpenAPI schema."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.setdefault(
            "ErrorOut",
            {
                "title": "ErrorOut",
                "type": "object",
                "properties": {"detail": {"type": "string", "title": "Detail"}},
                "required": ["detail"],
            },
        )
        components["HTTPValidationError"] = {
            "title": "HTTPValidationError",
            "type": "object",
            "properties": {
                "detail": {"type": "string", "title": "Detail"},
                "errors": {"type": "array", "items": {"type": "object"}, "title": "Errors"},
            },
            "required": ["detail"],
        }
        retry_after = {
            "Retry-After": {
                "description": "seconds to wait before the next request",
                "schema": {"type": "integer"},
            }
        }
        for path, operations in schema.get("paths", {}).items():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                if "requestBody" in operation:
                    responses.setdefault("400", _error_schema("Request body is not UTF-8"))
                responses.setdefault("413", _error_schema("Request body over the size limit"))
                if path not in UNLIMITED_PATHS:
                    responses.setdefault(
                        "429", _error_schema("Too many requests from this client", retry_after)
                    )
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI, settings: Settings) -> None:
    """Register the middleware, the validation error handler and their OpenAPI documentation.

    Reads `max_body_bytes` and `rate_limit_per_minute` from the settings when they exist.
    """
    configure_logging(settings.log_level)
    app.add_exception_handler(RequestValidationError, _validation_error)
    # add_middleware puts each one outside the ones added before it.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RateLimit, per_minute=settings.rate_limit_per_minute)
    app.add_middleware(RequestContext, routes=RouteTemplates(app))
    _document_limits(app)
