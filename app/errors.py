"""Error bodies that name the field and the reason."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

__all__ = ["install_error_handlers", "field_path"]


def field_path(loc: tuple | list) -> str:
    """("body", "items", 3, "open") -> "items[3].open"."""
    parts = [p for p in loc if p not in ("body", "query", "path")]
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for err in exc.errors():
            loc = list(err.get("loc", ()))
            if err.get("type") == "json_invalid":
                position = loc[-1] if loc and isinstance(loc[-1], int) else "?"
                message = f"malformed JSON ({err.get('ctx', {}).get('error', 'decode error')}"
                errors.append({"field": "body", "message": f"{message} at character {position})"})
                continue
            item = {"field": field_path(loc), "message": err.get("msg", "invalid")}
            index = next((p for p in loc if isinstance(p, int)), None)
            if index is not None and "items" in loc:
                item["index"] = index
            errors.append(item)
        return JSONResponse(
            status_code=422,
            content={
                "detail": "request rejected; nothing was written",
                "errors": errors,
            },
        )
