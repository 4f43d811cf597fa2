"""The per-worker /ws limit, against gunicorn's gthread worker."""

from __future__ import annotations

import json
import struct
import urllib.request

import websocket

from tests.web.conftest import gunicorn_env, gunicorn_server
from tests.web.test_ws import token_for

MAX_SOCKETS = 2
TIMEOUT_S = 10


def _open(ws_url: str, token: str) -> websocket.WebSocket:
    return websocket.create_connection(f"{ws_url}?token={token}", timeout=TIMEOUT_S)


def test_socket_over_limit_gets_1013(config, tenant, redis_client):
    env = gunicorn_env(config, DIALER_WS_MAX_SOCKETS=str(MAX_SOCKETS))
    token = token_for(tenant, config)
    sockets = []
    # One worker with room for MAX_SOCKETS sockets and two more threads for HTTP.
    with gunicorn_server(env, workers=1, threads=MAX_SOCKETS + 2) as base_url:
        ws_url = base_url.replace("http://", "ws://") + "/ws"
        try:
            for _ in range(MAX_SOCKETS):
                sockets.append(_open(ws_url, token))
                assert json.loads(sockets[-1].recv())["type"] == "ws.hello"

            extra = _open(ws_url, token)
            sockets.append(extra)
            error = json.loads(extra.recv())
            opcode, frame = extra.recv_data_frame(control_frame=True)

            with urllib.request.urlopen(f"{base_url}/health", timeout=TIMEOUT_S) as response:
                health_status = response.status
        finally:
            for sock in sockets:
                sock.close()

    assert error["type"] == "ws.error"
    assert error["code"] == "too_many_sockets"
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    assert struct.unpack("!H", frame.data[:2])[0] == 1013
    assert health_status == 200


def test_closed_socket_frees_slot(config, tenant, redis_client):
    env = gunicorn_env(config, DIALER_WS_MAX_SOCKETS="1")
    token = token_for(tenant, config)
    with gunicorn_server(env, workers=1, threads=3) as base_url:
        ws_url = base_url.replace("http://", "ws://") + "/ws"
        first = _open(ws_url, token)
        assert json.loads(first.recv())["type"] == "ws.hello"
        first.close()

        # The server notices the close within one poll turn; a retry covers that gap.
        for _attempt in range(50):
            second = _open(ws_url, token)
            message = json.loads(second.recv())
            second.close()
            if message["type"] == "ws.hello":
                break

    assert message["type"] == "ws.hello"
