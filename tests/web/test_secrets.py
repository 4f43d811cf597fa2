"""The web tier refuses the public default JWT secrets and CDR password, and short ones."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
import uuid

import jwt
import pytest

from dialer_common.config import Config
from dialer_common.errors import ConfigError
from tests.conftest import ROOT
from web import create_app
from web.db import close_pool

STRONG_ACCESS = "a" * 16 + uuid.uuid4().hex
STRONG_REFRESH = "r" * 16 + uuid.uuid4().hex
STRONG_CDR = uuid.uuid4().hex


def test_default_secrets_rejected_without_flag(config):
    production = dataclasses.replace(config, allow_dev_secrets=False)

    with pytest.raises(ConfigError) as error:
        create_app(production)

    message = str(error.value)
    assert "DIALER_JWT_ACCESS_SECRET" in message
    assert "DIALER_JWT_REFRESH_SECRET" in message
    assert "DIALER_ALLOW_DEV_SECRETS=1" in message


def test_default_secrets_allowed_with_flag(config):
    app = create_app(dataclasses.replace(config, allow_dev_secrets=True))

    assert app.config["DIALER"].allow_dev_secrets is True
    close_pool(app)


@pytest.mark.parametrize("field, variable", [
    ("jwt_access_secret", "DIALER_JWT_ACCESS_SECRET"),
    ("jwt_refresh_secret", "DIALER_JWT_REFRESH_SECRET"),
])
def test_short_secret_rejected(config, field, variable):
    short = dataclasses.replace(config, allow_dev_secrets=True, **{field: "x" * 31})

    with pytest.raises(ConfigError) as error:
        create_app(short)

    assert variable in str(error.value)
    assert "31 bytes" in str(error.value)
    assert "at least 32 bytes" in str(error.value)


@pytest.mark.parametrize("password", ["cdr-secret", "CHANGE-ME", "short-but-set"])
def test_weak_cdr_password_rejected_without_flag(config, password):
    production = dataclasses.replace(config, allow_dev_secrets=False, jwt_access_secret=STRONG_ACCESS,
                                     jwt_refresh_secret=STRONG_REFRESH, cdr_password=password)

    with pytest.raises(ConfigError) as error:
        create_app(production)

    assert "DIALER_CDR_PASSWORD" in str(error.value)
    assert "dialer_cdr_cred" in str(error.value)


def test_token_signed_with_default_rejected(config, tenant):
    production = dataclasses.replace(
        config, allow_dev_secrets=False, jwt_access_secret=STRONG_ACCESS, jwt_refresh_secret=STRONG_REFRESH,
        cdr_password=STRONG_CDR,
    )
    app = create_app(production)
    now = int(time.time())
    claims = {"sub": str(tenant["user_id"]), "tid": tenant["id"], "role": "admin", "email": tenant["email"],
              "locale": "en", "type": "access", "iat": now, "exp": now + 60, "jti": uuid.uuid4().hex}
    forged = jwt.encode(claims, Config().jwt_access_secret, algorithm="HS256")

    response = app.test_client().get("/api/me", headers={"Authorization": f"Bearer {forged}"})

    assert response.status_code == 401
    assert response.json["error"]["code"] == "token_invalid"
    close_pool(app)


def test_env_without_flag_stops_startup():
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    script = "from web import create_app; create_app()"

    result = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=60)

    assert result.returncode != 0
    assert "ConfigError" in result.stderr
    assert "DIALER_JWT_ACCESS_SECRET" in result.stderr
