"""JWT access and refresh tokens (pyjwt, HS256, separate secrets).

Access tokens carry ``sub`` (the user id as a string, as RFC 7519 requires),
``tid`` (tenant id), ``role``, ``email``, ``locale``, ``type``, ``iat``,
``exp`` and ``jti``. Refresh tokens carry ``sub``, ``tid``, ``type``,
``iat``, ``exp`` and ``jti``. Their jti is stored in Redis until it expires
or is revoked, so a refresh token works once.
"""

from __future__ import annotations

import logging
import time
import uuid

import jwt
from flask import current_app
from flask_babel import lazy_gettext as _l

from dialer_common.config import Config
from dialer_common.errors import ConfigError
from web.errors import ApiError

log = logging.getLogger(__name__)

ALGORITHM = "HS256"
# RFC 7518 section 3.2: an HS256 key must be at least as long as the hash output.
MIN_SECRET_BYTES = 32


class AuthError(ApiError):
    """A missing, invalid, expired or revoked token (HTTP 401)."""

    status = 401

    def __init__(self, code: str, message) -> None:
        super().__init__(code, message, headers={"WWW-Authenticate": 'Bearer realm="dialer"'})


def check_secrets(config: Config) -> None:
    """Raise ConfigError when a JWT secret is short, or is the public default without the dev flag.

    Anyone can sign tokens with the defaults in ``Config``, because they are
    in the source, so only the demo and the tests may run with them.
    """
    defaults = Config()
    secrets = (
        ("DIALER_JWT_ACCESS_SECRET", config.jwt_access_secret, defaults.jwt_access_secret),
        ("DIALER_JWT_REFRESH_SECRET", config.jwt_refresh_secret, defaults.jwt_refresh_secret),
    )
    for variable, secret, _default in secrets:
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise ConfigError(
                f"{variable} is {len(secret.encode())} bytes: set it to a random value of at least"
                f" {MIN_SECRET_BYTES} bytes, e.g. the output of `python -c 'import secrets;"
                " print(secrets.token_urlsafe(48))'`"
            )
    using_defaults = [variable for variable, secret, default in secrets if secret == default]
    if using_defaults and not config.allow_dev_secrets:
        raise ConfigError(
            f"{' and '.join(using_defaults)} still have the public default value, so anyone could sign"
            f" tokens: set each to its own random value of at least {MIN_SECRET_BYTES} bytes,"
            " e.g. the output of `python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
            " (only for a demo or tests, set DIALER_ALLOW_DEV_SECRETS=1 instead)"
        )
    if not config.cdr_password_ok():
        if not config.allow_dev_secrets:
            raise ConfigError(
                "DIALER_CDR_PASSWORD is the public default, a placeholder or shorter than 16 characters,"
                " so anyone who reaches POST /api/cdr could write call records: set it to a random value"
                " and the same user:password in the media nodes' dialer_cdr_cred"
                " (only for a demo or tests, set DIALER_ALLOW_DEV_SECRETS=1 instead)"
            )
        using_defaults.append("DIALER_CDR_PASSWORD")
    if using_defaults:
        log.warning(
            "auth.dev_secrets variables=%s allowed_by=DIALER_ALLOW_DEV_SECRETS", ",".join(using_defaults)
        )


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


def _invalid_message(token_type: str):
    # The refresh token travels in an HttpOnly cookie that only a new login
    # replaces, so the Authorization header hint fits access tokens only.
    if token_type == "refresh":
        return _l("The refresh token is invalid: log in again.")
    return _l("The token is invalid: log in again and send Authorization: Bearer <token>.")


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
        raise AuthError("token_invalid", _invalid_message(token_type)) from None
    if claims.get("type") != token_type or not _has_numeric_ids(claims):
        raise AuthError("token_invalid", _invalid_message(token_type))
    return claims


def _has_numeric_ids(claims: dict) -> bool:
    """Tell whether ``sub`` is a user id in digits and ``tid`` an integer tenant id, as issued."""
    subject = claims.get("sub")
    tenant_id = claims.get("tid")
    subject_ok = isinstance(subject, str) and subject.isascii() and subject.isdigit()
    tenant_ok = isinstance(tenant_id, int) and not isinstance(tenant_id, bool)
    return subject_ok and tenant_ok
