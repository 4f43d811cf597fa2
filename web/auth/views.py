"""The ``/api/auth`` blueprint: login, refresh and logout.

The access token travels in the JSON body and the Authorization header; the
refresh token only in an HttpOnly cookie scoped to ``/api/auth``. Each
refresh revokes the presented refresh token and issues a new one.
"""

from __future__ import annotations

import logging

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Blueprint, Response, current_app, jsonify, request
from flask_babel import gettext as _

from web.auth import audit, tokens
from web.auth.limits import is_failed_login, limiter, login_email_key, login_ip_limit, login_limit
from web.auth.tokens import AuthError
from web.db import get_conn, get_redis
from web.errors import ApiError
from web.json_body import field, json_object

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__, url_prefix="/api/auth")

REFRESH_COOKIE = "refresh_token"
COOKIE_PATH = "/api/auth"

_hasher = PasswordHasher()
# Verified when the email is unknown, so both failures take the same time.
_DUMMY_HASH = _hasher.hash("dummy-password-for-timing")


def _refresh_key(jti: str) -> str:
    return f"{current_app.config['DIALER'].redis_prefix}refresh:{jti}"


def _read_credentials() -> tuple[str, str]:
    body = json_object('{"email": "ana@example.com", "password": "..."}')
    email = field(body, "email", "string", "")
    password = field(body, "password", "string", "")
    if not email.strip():
        raise ApiError("missing_field", _("The field email is missing or empty."), field="email")
    if not password:
        raise ApiError("missing_field", _("The field password is missing or empty."), field="password")
    return email.strip(), password


def _find_user(cur, email: str) -> dict | None:
    cur.execute(
        "SELECT id, tenant_id, email, password_hash, full_name, role, locale, active"
        " FROM users WHERE lower(email) = lower(%s)",
        (email,),
    )
    return cur.fetchone()


def _password_matches(user: dict | None, password: str) -> bool:
    try:
        _hasher.verify(user["password_hash"] if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return user is not None and user["active"]


def _user_json(user: dict) -> dict:
    return {
        "id": user["id"],
        "tenant_id": user["tenant_id"],
        "email": user["email"],
        "full_name": user["full_name"],
        "role": user["role"],
        "locale": user["locale"],
    }


def _token_response(user: dict) -> Response:
    """Issue an access token and a stored refresh token for ``user``."""
    config = current_app.config["DIALER"]
    access_token, expires_in = tokens.issue_access_token(user)
    refresh_token, refresh_claims = tokens.issue_refresh_token(user["id"], user["tenant_id"])
    get_redis().set(_refresh_key(refresh_claims["jti"]), str(user["id"]), ex=config.refresh_token_ttl_s)

    response = jsonify(
        {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": expires_in,
            "user": _user_json(user),
        }
    )
    response.set_cookie(
        REFRESH_COOKIE,
        refresh_token,
        max_age=config.refresh_token_ttl_s,
        path=COOKIE_PATH,
        httponly=True,
        samesite="Strict",
        secure=config.cookie_secure,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/login")
@limiter.limit(login_ip_limit)
@limiter.limit(login_limit, key_func=login_email_key, deduct_when=is_failed_login)
def login() -> Response:
    email, password = _read_credentials()

    conn = get_conn()
    with conn.cursor() as cur:
        user = _find_user(cur, email)
        ok = _password_matches(user, password)
        tenant_id = user["tenant_id"] if user else None
        user_id = user["id"] if user else None
        action = "login.success" if ok else "login.failure"
        audit.record(cur, action, tenant_id, user_id, target=email.lower(),
                     details={"ip": request.remote_addr})
        if ok and _hasher.check_needs_rehash(user["password_hash"]):
            cur.execute("UPDATE users SET password_hash = %s WHERE id = %s",
                        (_hasher.hash(password), user_id))
    conn.commit()

    if not ok:
        log.info("auth.login_failed tenant_id=%s user_id=%s ip=%s", tenant_id, user_id, request.remote_addr)
        raise ApiError("invalid_credentials", _("Wrong email or password."), status=401)
    log.info("auth.login tenant_id=%s user_id=%s", tenant_id, user_id)
    return _token_response(user)


def _consume_refresh_token() -> dict:
    """Verify the refresh cookie and revoke it; return its claims."""
    token = request.cookies.get(REFRESH_COOKIE, "")
    if not token:
        raise AuthError("refresh_missing", _("Missing refresh token cookie: log in again."))
    claims = tokens.decode_refresh_token(token)
    # GETDEL makes the check and the revocation one step, so two requests
    # racing with the same token cannot both succeed.
    if get_redis().getdel(_refresh_key(claims["jti"])) is None:
        log.warning("auth.refresh_reused user_id=%s tenant_id=%s", claims["sub"], claims["tid"])
        raise AuthError("refresh_revoked", _("The refresh token was already used or revoked: log in again."))
    return claims


@bp.post("/refresh")
def refresh() -> Response:
    claims = _consume_refresh_token()
    conn = get_conn()
    with conn.cursor() as cur:
        cur.execute(
            "SELECT id, tenant_id, email, full_name, role, locale, active FROM users"
            " WHERE id = %s AND tenant_id = %s",
            (int(claims["sub"]), claims["tid"]),
        )
        user = cur.fetchone()
    conn.rollback()
    if user is None or not user["active"]:
        raise AuthError("user_inactive", _("This account is disabled or was removed: contact an administrator."))
    log.info("auth.refresh tenant_id=%s user_id=%s", user["tenant_id"], user["id"])
    return _token_response(user)


@bp.post("/logout")
def logout() -> Response:
    token = request.cookies.get(REFRESH_COOKIE, "")
    user_id = tenant_id = None
    if token:
        try:
            claims = tokens.decode_refresh_token(token)
        except AuthError:
            claims = None
        if claims is not None:
            get_redis().delete(_refresh_key(claims["jti"]))
            user_id, tenant_id = int(claims["sub"]), claims["tid"]
            conn = get_conn()
            with conn.cursor() as cur:
                audit.record(cur, "logout", tenant_id, user_id)
            conn.commit()
    log.info("auth.logout tenant_id=%s user_id=%s", tenant_id, user_id)

    response = jsonify({"status": "logged_out"})
    response.delete_cookie(REFRESH_COOKIE, path=COOKIE_PATH, httponly=True, samesite="Strict",
                           secure=current_app.config["DIALER"].cookie_secure)
    return response
