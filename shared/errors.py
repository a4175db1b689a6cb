"""Errors that carry their HTTP status and stable code, rendered as RFC 9457 problem+json."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("fupin.errors")
PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class ErrorItem:
    code: str
    detail: str
    field: str | None = None


class Problem(Exception):
    """Base of every error a request can end in."""

    status = 500
    title = "Internal Server Error"

    def __init__(
        self, code: str, detail: str, *, field: str | None = None,
        errors: list[ErrorItem] | None = None,
    ) -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail
        self.errors = errors if errors is not None else [ErrorItem(code, detail, field)]

    def body(self) -> dict[str, Any]:
        return {
            "type": f"https://fupin.cn/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "errors": [asdict(e) for e in self.errors],
        }


class Unauthorized(Problem):
    status, title = 401, "Unauthorized"


class Forbidden(Problem):
    status, title = 403, "Forbidden"


class NotFound(Problem):
    status, title = 404, "Not Found"

    def __init__(self, what: str = "资源") -> None:
        super().__init__("not_found", f"{what}不存在 (not found)")


class Conflict(Problem):
    status, title = 409, "Conflict"


class PreconditionFailed(Problem):
    status, title = 412, "Precondition Failed"


class PayloadTooLarge(Problem):
    status, title = 413, "Payload Too Large"


class Unprocessable(Problem):
    """A validation or business-rule violation (422)."""

    status, title = 422, "Unprocessable Content"


class RuleViolations(Unprocessable):
    """Several unmet conditions reported together (e.g. exit or risk elimination)."""

    def __init__(self, summary: str, errors: list[ErrorItem]) -> None:
        super().__init__(errors[0].code, summary, errors=errors)


class ServiceUnavailable(Problem):
    status, title = 503, "Service Unavailable"


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> JSONResponse:
    if problem.status == 503:
        headers = {"Retry-After": "5", **(headers or {})}
    return JSONResponse(problem.body(), status_code=problem.status, media_type=PROBLEM,
                        headers=headers)


_PYDANTIC_CODES = {
    "missing": "required",
    "json_invalid": "malformed_json",
    "enum": "invalid_enum",
    "literal_error": "invalid_enum",
    "extra_forbidden": "unknown_field",
}


def _field(loc: tuple[Any, ...]) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or None


def _validation_detail(err: dict[str, Any]) -> str:
    if err["type"] == "json_invalid":
        return "请求体不是合法的 JSON (malformed JSON body)"
    if err["type"] == "missing":
        return "缺少必填字段 (field required)"
    if err["type"] in ("enum", "literal_error"):
        return f"取值不在允许范围内 (not an allowed value): {err.get('msg', '')}"
    # Never echo the input: it may be an ID number.
    return str(err.get("msg", "取值不合法 (invalid value)"))


def validation_problem(exc: RequestValidationError) -> Unprocessable:
    items = [
        ErrorItem(
            code=_PYDANTIC_CODES.get(err["type"], err["type"]),
            field=_field(tuple(err.get("loc", ()))),
            detail=_validation_detail(err),
        )
        for err in exc.errors()
    ]
    return Unprocessable(items[0].code, "请求数据校验未通过 (validation failed)", errors=items)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(_: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(validation_problem(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # FastAPI could not parse the body (e.g. not UTF-8)
            return problem_response(Unprocessable(
                "malformed_json", "请求体无法解析 (the request body could not be parsed)"))
        codes = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}
        problem = Problem(codes.get(exc.status_code, "http_error"), str(exc.detail))
        problem.status, problem.title = exc.status_code, str(exc.detail)
        return problem_response(problem, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        if is_outage(exc):
            log.warning("dependency unavailable: %s", type(exc).__name__)
            return problem_response(unavailable())
        log.exception("unhandled error", exc_info=exc)
        return problem_response(Problem("internal_error", "服务器内部错误 (internal error)"))


def unavailable() -> ServiceUnavailable:
    return ServiceUnavailable("service_unavailable",
                              "数据库暂不可用，请稍后重试 (database unavailable, retry)")


def is_outage(exc: BaseException) -> bool:
    """A database that refuses or dropped connections: the client should retry (503)."""
    import sqlalchemy.exc

    if isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError,
                        ConnectionError, OSError)):
        return True
    name = type(getattr(exc, "orig", None) or exc).__name__
    return name in {"CannotConnectNowError", "ConnectionDoesNotExistError",
                    "AdminShutdownError", "ConnectionFailureError"}
