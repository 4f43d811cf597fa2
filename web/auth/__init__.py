"""Authentication: login, refresh-token rotation, logout, roles.

``web.auth.tokens`` signs and verifies JWTs, ``web.auth.rbac`` guards views
by role, ``web.auth.views`` holds the ``/api/auth`` blueprint.
"""

from web.auth.tokens import AuthError, decode_access_token

__all__ = ["AuthError", "decode_access_token"]
