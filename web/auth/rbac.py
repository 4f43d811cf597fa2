"""Role-based access: ``require_role`` reads the Bearer token and checks the role.

Roles, from most to least privileged: admin, supervisor, agent, viewer. The
decorated view finds the claims in ``g.claims`` and the tenant in
``g.tenant_id``; every query a view runs filters on that tenant id.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import g, request
from flask_babel import gettext as _

from web.auth.tokens import AuthError, decode_access_token
from web.errors import ApiError

ROLES = ("admin", "supervisor", "agent", "viewer")


def bearer_token() -> str:
    """Return the token of the Authorization: Bearer header, or '' when absent."""
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return ""
    return token.strip()


def authenticate() -> dict:
    """Decode the request's access token into ``g`` and return its claims."""
    claims = decode_access_token(bearer_token())
    g.claims = claims
    g.user_id = int(claims["sub"])
    g.tenant_id = int(claims["tid"])
    return claims


def require_role(*roles: str) -> Callable:
    """Allow the view only to signed-in users whose role is in ``roles`` (any role if empty)."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}: expected some of {ROLES}")

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            claims = authenticate()
            if roles and claims.get("role") not in roles:
                raise ApiError(
                    "forbidden",
                    _("Your role (%(role)s) cannot do this: it needs one of %(roles)s.",
                      role=claims.get("role"), roles=", ".join(roles)),
                    status=403,
                )
            return view(*args, **kwargs)

        return wrapper

    return decorator


__all__ = ["AuthError", "ROLES", "authenticate", "bearer_token", "require_role"]
