"""JWT access and refresh tokens (pyjwt, HS256, separate secrets).

Access tokens carry ``sub`` (the user id as a string, as RFC 7519 requires),
``tid`` (tenant id), ``role``, ``email``, ``locale``, ``type``, ``iat``,
``exp`` and ``jti``. Refresh tokens carry ``sub``, ``tid``, ``type``,
``iat``, ``exp`` and ``jti``. Their jti is stored in Redis until it expires
or is revoked, so a refresh token works once.
"""

from __future__ import annotations

import time
import uuid

import jwt
from flask import current_app
from flask_babel import lazy_gettext as _l

from dialer_common.config import Config
from web.errors import ApiError

ALGORITHM = "HS256"


class AuthError(ApiError):
    """A missing, invalid, expired or revoked token (HTTP 401)."""

    status = 401

    def __init__(self, code: str, message) -> None:
        super().__init__(code, message, headers={"WWW-Authenticate": 'Bearer realm="dialer"'})


def _config(config: Config | None) -> Config:
    return config if config is not None else current_app.config["DIALER"]


def issue_access_token(user: dict, config: Config | None = None) -> tuple[str, int]:
    """Sign an access token for ``user`` (a users row); return it and its lifetime in s."""
    config = _config(config)
    now = int(time.time())
    claims = {
        "sub": str(user["id"]),
        "tid": user["tenant_id"],
        "role": user["role"],
        "email": user["email"],
        "locale": user["locale"],
        "type": "access",
        "iat": now,
        "exp": now + config.access_token_ttl_s,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, config.jwt_access_secret, algorithm=ALGORITHM), config.access_token_ttl_s


def issue_refresh_token(user_id: int, tenant_id: int, config: Config | None = None) -> tuple[str, dict]:
    """Sign a refresh token; return it and its claims (the caller stores the jti)."""
    config = _config(config)
    now = int(time.time())
    claims = {
        "sub": str(user_id),
        "tid": tenant_id,
        "type": "refresh",
        "iat": now,
        "exp": now + config.refresh_token_ttl_s,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, config.jwt_refresh_secret, algorithm=ALGORITHM), claims


def decode_access_token(token: str, config: Config | None = None) -> dict:
    """Verify an access token and return its claims; raise AuthError if it is not valid."""
    return _decode(token, _config(config).jwt_access_secret, "access")


def decode_refresh_token(token: str, config: Config | None = None) -> dict:
    """Verify a refresh token's signature and expiry; the caller checks revocation."""
    return _decode(token, _config(config).jwt_refresh_secret, "refresh")


def _decode(token: str, secret: str, token_type: str) -> dict:
    if not token:
        raise AuthError(
            "token_missing",
            _l("Missing access token: send Authorization: Bearer <token>."),
        )
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "iat", "jti", "sub"]},
        )
    except jwt.ExpiredSignatureError:
        raise AuthError("token_expired", _l("The token has expired: log in again.")) from None
    except jwt.InvalidTokenError:
        raise AuthError(
            "token_invalid",
            _l("The token is invalid: log in again and send Authorization: Bearer <token>."),
        ) from None
    if claims.get("type") != token_type:
        raise AuthError(
            "token_invalid",
            _l("The token is invalid: log in again and send Authorization: Bearer <token>."),
        )
    return claims
