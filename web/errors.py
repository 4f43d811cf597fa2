"""One error shape for the whole web tier.

API errors return ``{"error": {"code": ..., "message": ..., "field": ...}}``
with the message translated to the request's locale. 404, 405, 429 and 500
return JSON under ``/api`` (or when the client prefers JSON) and a small HTML
page elsewhere.
"""

from __future__ import annotations

import logging
from html import escape

from flask import Flask, Response, jsonify, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error the client can act on; ``message`` is already translated."""

    status = 400

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int | None = None,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(code)
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers or {}
        if status is not None:
            self.status = status


def error_response(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
    detail: str | None = None,
) -> Response:
    """Build the JSON error response every API error uses.

    ``detail`` carries an untranslated technical reason for machine clients
    (mod_json_cdr) next to the translated ``message``.
    """
    body: dict = {"code": code, "message": str(message)}
    if field is not None:
        body["field"] = field
    if detail is not None:
        body["detail"] = detail
    response = jsonify({"error": body})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def wants_json() -> bool:
    """Tell whether this request gets JSON errors: /api paths or a JSON Accept header."""
    if request.path.startswith("/api") or request.path == "/health":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _http_error_message(status: int) -> tuple[str, str]:
    messages = {
        400: ("bad_request", _("The request is malformed.")),
        401: ("unauthorized", _("Authentication is required.")),
        403: ("forbidden", _("You do not have permission for this action.")),
        404: ("not_found", _("The requested URL was not found.")),
        405: ("method_not_allowed", _("This method is not allowed for the requested URL.")),
        413: ("payload_too_large", _("The request body is too large.")),
        429: ("rate_limited", _("Too many requests: wait a minute and try again.")),
        500: ("internal_error", _("Internal server error: try again later.")),
    }
    return messages.get(status, ("http_error", _("The request failed.")))


def _html_page(status: int, message: str) -> Response:
    page = f"<!doctype html><title>{status}</title><h1>{status}</h1><p>{escape(message)}</p>"
    return Response(page, status=status, mimetype="text/html")


def handle_api_error(error: ApiError) -> Response:
    return error_response(error.status, error.code, error.message, error.field, error.headers)


def handle_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    code, message = _http_error_message(status)
    headers = dict(error.get_headers()) if status in (405, 429) else {}
    headers.pop("Content-Type", None)
    if wants_json():
        return error_response(status, code, message, headers=headers)
    response = _html_page(status, message)
    response.headers.update(headers)
    return response


def handle_unexpected(error: Exception) -> Response:
    log.exception("request.failed method=%s path=%s", request.method, request.path)
    return handle_http_exception(_InternalError())


class _InternalError(HTTPException):
    code = 500


def register(app: Flask) -> None:
    """Install the error handlers on ``app``."""
    app.register_error_handler(ApiError, handle_api_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
