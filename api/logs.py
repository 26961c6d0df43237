"""Logging for the service and the worker (issue 10, 12): one line per record, JSON in
production (LOG_FORMAT=json) or text, each line with the request id; no tokens and no
customer data.

What a line may carry, and why:
- the request id (services/kernel/logs.py), set by `RequestIdMiddleware` from a sane
  incoming X-Request-Id (a proxy's) or a new one, and echoed in the response header;
- uvicorn's access line with `token=` query values (download links, ticket links) replaced
  by `token=[redacted]`; any `Authorization` value and anything shaped like a JWT likewise,
  in every line;
- a traceback's frames (file, line, function, source line) and the exception's type, but
  never the exception's message nor local variables: the messages of database errors
  carry the statement's parameters (a customer's name, RFC, e-mail) and GraphQL's
  variable errors quote the variables. A traceback is for finding the line; the data that
  hit it stays in the database (the request id links the two);
- Strawberry logs each GraphQL error with the error itself as the message (`logger.error(
  error)`), i.e. its text: replaced by the error's path and the original exception's type.
"""
from __future__ import annotations

import json
import logging
import logging.config
import re
import traceback
from datetime import UTC, datetime
from types import TracebackType

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.kernel import logs as context

_TOKEN = re.compile(r"(?i)(\w*token)(?:=|%3D)[^&\s\"'#;]*")
_AUTHORIZATION = re.compile(r"(?i)(authorization[\"']?\s*[:=,]\s*[\"']?)(?:(?:bearer|basic)\s+)?[^\s\"',;)]+")
_BEARER = re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
WITHHELD = "(message withheld: it may carry customer data)"


def redact(text: str) -> str:
    """Tokens and credentials out of a log line."""
    text = _TOKEN.sub(lambda m: f"{m.group(1)}=[redacted]", text)
    text = _AUTHORIZATION.sub(lambda m: f"{m.group(1)}[redacted]", text)
    text = _BEARER.sub("Bearer [redacted]", text)
    return _JWT.sub("[redacted-jwt]", text)


def _type_name(exc: BaseException) -> str:
    kind = type(exc)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def _describe(exc: BaseException) -> str:
    name = _type_name(exc)
    code = getattr(exc, "code", None)  # the project's stable codes (PublicError, StampingError...)
    if isinstance(code, str | int) and re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", str(code)):
        name += f" [code={code}]"
    return name


def format_exception(exc_info: tuple[type[BaseException], BaseException, TracebackType | None]) -> str:
    """The traceback of an exception and of its causes: frames and types, no messages, no locals."""
    chain: list[BaseException] = []
    exc: BaseException | None = exc_info[1]
    while exc is not None and all(exc is not seen for seen in chain):
        chain.append(exc)
        exc = exc.__cause__ if exc.__cause__ is not None else (None if exc.__suppress_context__ else exc.__context__)
    parts: list[str] = []
    for position, exc in enumerate(reversed(chain)):
        if position:
            parts.append("\nThe above exception led to the following one:\n\n")
        parts.append("Traceback (most recent call last):\n")
        frames = traceback.StackSummary.extract(traceback.walk_tb(exc.__traceback__), capture_locals=False)
        parts.extend(frames.format())
        parts.append(f"{_describe(exc)} {WITHHELD}\n")
    return "".join(parts).rstrip("\n")


class ContextFilter(logging.Filter):
    """Adds `request_id` to every record and takes the data out of the records known to
    carry some (uvicorn's access line, Strawberry's GraphQL errors). On the handler, so it
    sees the records of every logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = context.current()
        if isinstance(record.msg, BaseException):
            record.msg, record.args = _error_summary(record.msg), ()
        elif record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, version, status = record.args
            record.args = (client, method, redact(str(path)), version, status)
        return True


def _error_summary(error: BaseException) -> str:
    path = getattr(error, "path", None)
    original = getattr(error, "original_error", None)
    where = ".".join(str(p) for p in path) if path else "-"
    what = _describe(original) if original is not None else f"{_describe(error)} (a malformed request)"
    return f"GraphQL error at {where}: {what}"


def _message(record: logging.LogRecord) -> str:
    try:
        return redact(record.getMessage())
    except Exception:  # a bad format string must not lose the line
        return redact(str(record.msg))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, and exc_type and
    exc (frames only) when the record has an exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": _message(record),
            "request_id": getattr(record, "request_id", None),
        }
        if record.exc_info and record.exc_info[1] is not None:
            entry["exc_type"] = _type_name(record.exc_info[1])
            entry["exc"] = format_exception(record.exc_info)  # type: ignore[arg-type]
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`time LEVEL logger [request id] message`, then the traceback (frames only)."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        line = f"{when} {record.levelname} {record.name} [{getattr(record, 'request_id', None) or '-'}] {_message(record)}"
        if record.exc_info and record.exc_info[1] is not None:
            line += "\n" + format_exception(record.exc_info)  # type: ignore[arg-type]
        if record.stack_info:
            line += "\n" + record.stack_info
        return line


def logging_config(log_format: str, level: str = "INFO") -> dict:
    """A dictConfig for the process, also handed to uvicorn (`log_config`) so that its
    error and access loggers go through the same handler, filter and formatter."""
    formatter = JsonFormatter if log_format == "json" else TextFormatter
    uvicorn = {"handlers": [], "level": level, "propagate": True}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": ContextFilter}},
        "formatters": {"default": {"()": formatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
                                "formatter": "default", "filters": ["context"]}},
        "loggers": {"uvicorn": uvicorn, "uvicorn.error": dict(uvicorn), "uvicorn.access": dict(uvicorn)},
        "root": {"handlers": ["stderr"], "level": level},
    }


def configure(log_format: str, level: str = "INFO") -> None:
    logging.config.dictConfig(logging_config(log_format, level))


class RequestIdMiddleware:
    """Pure ASGI (it must wrap the access log uvicorn writes when the response starts, and
    streaming responses): binds the request id for the whole request and answers it in
    `X-Request-Id`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope.get("headers") or []:
            if name == b"x-request-id":
                incoming = context.sane(value.decode("latin-1"))
                break
        request_id = incoming or context.new_id()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", request_id.encode())]}
            await send(message)

        token = context.request_id.set(request_id)
        await self.app(scope, receive, send_with_id)
        # Reset only on success: when the app raises, the server logs the traceback after
        # this returns, in the same task (uvicorn runs each request in a task of its own).
        context.request_id.reset(token)
