"""``python -m cdr_receiver``: run the CDR receiver.

  python -m cdr_receiver [--host H] [--port P] [--workers N] [--idle-timeout S]

Settings come from the same ``DIALER_*`` variables as the other tiers
(database, CDR credentials, locale). The listen address and worker count
come from the options, or else ``DIALER_CDR_RECEIVER_HOST``, ``_PORT`` and
``_WORKERS``.

This process binds the port, then runs one worker, or forks N workers that
accept on the same socket. A second receiver on the same port therefore
fails to start instead of sharing the traffic. With several workers their
counters are summed through ``PROMETHEUS_MULTIPROC_DIR`` (a temporary
folder when it is not set). SIGTERM or SIGINT stops the workers after they
commit and respond to the posts they have read. When one worker exits on
its own the others are stopped and the command exits with status 1, so a
supervisor restarts the whole receiver.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import dataclasses
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile

from cdr_receiver import IDLE_TIMEOUT_S, LISTEN_BACKLOG
from dialer_common.cdr.messages import N_
from dialer_common.cli import load_translations
from dialer_common.config import Config
from dialer_common.errors import ConfigError

log = logging.getLogger("cdr_receiver")

# prctl(2) option: the signal a process gets when its parent dies.
PR_SET_PDEATHSIG = 1

CANNOT_LISTEN = N_("cannot listen on {host}:{port}: {error}; check --host and --port (DIALER_CDR_RECEIVER_HOST, "
                   "DIALER_CDR_RECEIVER_PORT), or stop the process that uses the port")
BAD_PORT = N_("invalid port {value}: use a number from 1 to 65535")
BAD_WORKERS = N_("invalid worker count {value} (--workers or DIALER_CDR_RECEIVER_WORKERS): use 1 or more")
BAD_IDLE_TIMEOUT = N_("invalid idle timeout {value}: use a number of seconds above 0")
DESCRIPTION = N_("Receive the CDRs that FreeSWITCH's mod_json_cdr posts and store them in PostgreSQL.")
HELP_HOST = N_("address to listen on (default {default}, DIALER_CDR_RECEIVER_HOST)")
HELP_PORT = N_("port to listen on (default {default}, DIALER_CDR_RECEIVER_PORT)")
HELP_WORKERS = N_("worker processes, one per core (default {default}, DIALER_CDR_RECEIVER_WORKERS)")
HELP_IDLE = N_("seconds before a silent or stalled connection is closed (default {default})")
DEFAULT_PASSWORD = N_("DIALER_CDR_PASSWORD is the public default, a placeholder or shorter than 16 "
                      "characters; set it to a random value and the same user:password in the media nodes' "
                      "dialer_cdr_cred (only for a demo or tests, set DIALER_ALLOW_DEV_SECRETS=1 instead)")


def listen(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def _run_worker(config: Config, sock: socket.socket, idle_timeout_s: float) -> None:
    from cdr_receiver.server import serve

    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is in requirements.txt
        uvloop = None

    async def main() -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, task.cancel)
        host = sock.getsockname()[0]
        if ":" in host:
            host = f"[{host}]"
        try:
            await serve(config, sock, idle_timeout_s=idle_timeout_s,
                        ready=lambda bound: print(f"cdr_receiver listening on http://{host}:{bound}/api/cdr",
                                                  flush=True))
        except asyncio.CancelledError:
            pass

    if uvloop is not None:
        uvloop.run(main())
    else:
        asyncio.run(main())


def _die_with_parent() -> None:
    """Ask Linux to send this process SIGTERM when its parent dies, so no worker outlives the receiver."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        log.warning("cdr_receiver.no_parent_death_signal pid=%s", os.getpid())


def _supervise(config: Config, sock: socket.socket, workers: int, idle_timeout_s: float) -> int:
    """Fork ``workers`` processes on ``sock`` and wait for them; return the exit status."""
    children: set[int] = set()
    parent = os.getpid()
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            _die_with_parent()
            if os.getppid() != parent:
                os._exit(1)
            code = 0
            try:
                _run_worker(config, sock, idle_timeout_s)
            except BaseException:
                log.exception("cdr_receiver.worker_failed pid=%s", os.getpid())
                code = 1
            finally:
                logging.shutdown()
                os._exit(code)
        children.add(pid)
    sock.close()

    stopping = False

    def stop(signum=None, frame=None) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            try:
                os.kill(child, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    status = 0
    while children:
        pid, wait_status = os.wait()
        children.discard(pid)
        code = os.waitstatus_to_exitcode(wait_status)
        if stopping and code in (0, -signal.SIGTERM):
            continue
        # A worker that exits without a stop request (a crash, a kill):
        # stop the others, so the supervisor restarts the whole receiver.
        log.error("cdr_receiver.worker_exited pid=%s exit_code=%s others_running=%s", pid, code, len(children))
        status = 1
        if not stopping:
            stop()
    return status


def main(argv: list[str] | None = None) -> int:
    try:
        config = Config.from_env()
    except ConfigError as exc:
        print(f"cdr_receiver: {exc}", file=sys.stderr)
        return 2
    gettext = load_translations(config.default_locale).gettext
    parser = argparse.ArgumentParser(prog="dialer-cdr-receiver", description=gettext(DESCRIPTION))
    parser.add_argument("--host", default=config.cdr_receiver_host,
                        help=gettext(HELP_HOST).format(default=config.cdr_receiver_host))
    parser.add_argument("--port", type=int, default=config.cdr_receiver_port,
                        help=gettext(HELP_PORT).format(default=config.cdr_receiver_port))
    parser.add_argument("--workers", type=int, default=config.cdr_receiver_workers,
                        help=gettext(HELP_WORKERS).format(default=config.cdr_receiver_workers))
    parser.add_argument("--idle-timeout", type=float, default=IDLE_TIMEOUT_S,
                        help=gettext(HELP_IDLE).format(default=IDLE_TIMEOUT_S))
    args = parser.parse_args(argv)
    if not 1 <= args.port <= 65535:
        parser.error(gettext(BAD_PORT).format(value=args.port))
    if args.workers < 1:
        parser.error(gettext(BAD_WORKERS).format(value=args.workers))
    if args.idle_timeout <= 0:
        parser.error(gettext(BAD_IDLE_TIMEOUT).format(value=args.idle_timeout))
    logging.basicConfig(level=config.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    if not config.cdr_password_ok():
        if not config.allow_dev_secrets:
            print(f"cdr_receiver: {gettext(DEFAULT_PASSWORD)}", file=sys.stderr)
            return 2
        log.warning("cdr_receiver.dev_password DIALER_ALLOW_DEV_SECRETS is set: accepting the default CDR "
                    "password")

    try:
        sock = listen(args.host, args.port)
    except OSError as exc:
        print("cdr_receiver: " + gettext(CANNOT_LISTEN).format(host=args.host, port=args.port, error=exc),
              file=sys.stderr)
        return 1

    if args.workers == 1:
        _run_worker(config, sock, args.idle_timeout)
        return 0

    metrics_dir = None
    if not config.prometheus_multiproc_dir:
        # prometheus-client reads the variable when the workers import it,
        # and /metrics reads the Config field.
        metrics_dir = tempfile.mkdtemp(prefix="dialer-cdr-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        config = dataclasses.replace(config, prometheus_multiproc_dir=metrics_dir)
    try:
        return _supervise(config, sock, args.workers, args.idle_timeout)
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
