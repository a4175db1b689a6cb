"""OpenAPI post-processing: every error is documented as the problem+json it really is."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from shared.error_catalog import markdown_table

PROBLEM_SCHEMA = {
    "type": "object",
    "title": "Problem",
    "description": "RFC 9457 problem details. `errors[].code` is stable; `detail` is Chinese "
                   "(English may follow). 错误详情，`code` 为稳定的机器可读代码。",
    "required": ["type", "title", "status", "detail", "errors"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"},
        "status": {"type": "integer"}, "detail": {"type": "string"},
        "errors": {"type": "array", "items": {"$ref": "#/components/schemas/ProblemError"}},
    },
}
PROBLEM_ERROR_SCHEMA = {
    "type": "object", "title": "ProblemError", "required": ["code", "detail"],
    "properties": {"code": {"type": "string"}, "field": {"type": ["string", "null"]},
                   "detail": {"type": "string"}},
}
_MEANINGS = {
    "401": "缺少或无效的访问令牌 / missing or invalid bearer token",
    "403": "缺少权限或超出辖区 / missing scope, or creating outside your region",
    "404": "不存在或不在辖区内 / not found (or outside your region)",
    "409": "重复 / duplicate",
    "412": "If-Match 已过期 / stale If-Match",
    "413": "请求体过大 / body too large",
    "422": "校验或业务规则未通过 / validation or business-rule violation",
    "503": "数据库暂不可用，稍后重试 / database unavailable, retry after Retry-After",
}
_OPEN = ("/healthz", "/readyz", "/metrics")


def problem_openapi(app: FastAPI, examples: dict[tuple[str, str], dict] | None = None
                    ) -> dict[str, Any]:
    """FastAPI's document with 4xx answers described as application/problem+json, and each
    JSON request body with its example."""
    if app.openapi_schema:
        return app.openapi_schema
    description = (f"{app.description}\n\n## 错误代码 / error codes\n\n"
                   f"Every error is application/problem+json; `errors[].code` is one of:\n\n"
                   f"{markdown_table()}")
    doc = get_openapi(title=app.title, version=app.version, description=description,
                      routes=app.routes)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas["ProblemError"] = PROBLEM_ERROR_SCHEMA
    ref = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, operations in doc.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            public = path.startswith(_OPEN) or path.endswith(("/enums", "/asyncapi.json"))
            codes = ["404", "413", "422"] if public else [
                "401", "403", "404", "409", "413", "422", "503"]
            if method == "patch":
                codes.append("412")
            for code in codes:
                responses[code] = {"description": _MEANINGS[code], "content": ref}
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None and (method, path) in (examples or {}):
                body["example"] = examples[(method, path)]
    app.openapi_schema = doc
    return doc
