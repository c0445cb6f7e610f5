"""The building blocks of the OpenAPI document (web/openapi.py and its parts)."""

from __future__ import annotations

from typing import Any

PROBLEM = {"description": "RFC 9457 problem details with a stable `code`",
           "content": {"application/problem+json": {
               "schema": {"$ref": "#/components/schemas/Problem"}}}}
AUTH: list[dict[str, list[str]]] = [{"bearer": []}]


def op(summary: str, responses: dict[str, Any], *, auth: bool = True,
       **extra: Any) -> dict[str, Any]:
    """An operation: its answers, any error as problem+json, bearer auth unless public."""
    out: dict[str, Any] = {"summary": summary, "responses": {**responses, "default": PROBLEM}}
    if auth:
        out["security"] = AUTH
    out.update(extra)
    return out


def json_ref(ref: str, description: str = "OK") -> dict[str, Any]:
    """A JSON answer of the schema ``ref``."""
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}
