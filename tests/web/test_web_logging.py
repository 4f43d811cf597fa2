"""The demo's gunicorn logging flags put the app's log lines in var/log/web.log."""

from __future__ import annotations

import json
import re
import shlex
import urllib.error
import urllib.request

from tests.conftest import ROOT
from tests.web.conftest import gunicorn_env, gunicorn_server

DEMO = ROOT / "scripts" / "demo.sh"


def _demo_gunicorn_arguments() -> list[str]:
    """Return the arguments of the gunicorn command in scripts/demo.sh, continuation lines joined."""
    text = DEMO.read_text().replace("\\\n", " ")
    for line in text.splitlines():
        if "/gunicorn\"" in line and not line.lstrip().startswith("#"):
            words = shlex.split(line)
            start = next(index for index, word in enumerate(words) if word.endswith("/gunicorn"))
            return words[start + 1:]
    raise AssertionError(f"no gunicorn command in {DEMO}")


def _logging_options(arguments: list[str], log_dir: str) -> list[str]:
    options = []
    for index, word in enumerate(arguments):
        if word in ("--capture-output", "--no-control-socket"):
            options.append(word)
        elif word in ("--error-logfile", "--log-level", "--control-socket"):
            options += [word, arguments[index + 1].replace("$LOG", log_dir).replace("$ROOT", log_dir)]
    return options


def test_demo_gunicorn_sets_logging_flags():
    arguments = _demo_gunicorn_arguments()

    assert "--error-logfile" in arguments
    assert arguments[arguments.index("--error-logfile") + 1] == "$LOG/web.log"
    assert "--log-level" in arguments
    assert "--capture-output" in arguments
    assert "--no-control-socket" in arguments or "--control-socket" in arguments


def test_app_logs_reach_error_logfile(config, tmp_path, tenant):
    options = _logging_options(_demo_gunicorn_arguments(), str(tmp_path))
    env = gunicorn_env(config, HOME=str(tmp_path))
    body = json.dumps({"email": tenant["email"], "password": "wrong"}).encode()

    with gunicorn_server(env, *options, workers=1, threads=2) as base_url:
        request = urllib.request.Request(f"{base_url}/api/auth/login", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            urllib.request.urlopen(request, timeout=10)
        except urllib.error.HTTPError as error:
            assert error.code == 401

    log_text = (tmp_path / "web.log").read_text()
    line = next((line for line in log_text.splitlines() if "auth.login_failed" in line), "")
    assert line, log_text[-2000:]
    assert re.match(r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\] \[\d+\] \[INFO\] ", line), line
    assert not (tmp_path / ".gunicorn").exists()
