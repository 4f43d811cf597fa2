"""``python -m cdr_receiver``: run the CDR receiver.

  python -m cdr_receiver [--host H] [--port P] [--workers N]

Settings come from the same ``DIALER_*`` variables as the other tiers
(database, CDR credentials, locale). The listen address and worker count
come from the options, or else ``DIALER_CDR_RECEIVER_HOST``, ``_PORT`` and
``_WORKERS``.
With more than one worker, each is a process with its own event loop and
committer on the same port (SO_REUSEPORT), and the kernel spreads the
connections over them. SIGTERM or SIGINT stops the workers after they
commit what they hold.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys

from dialer_common.config import Config
from dialer_common.errors import ConfigError

log = logging.getLogger("cdr_receiver")


def _run_worker(config: Config, host: str, port: int, reuse_port: bool, idle_timeout_s: float) -> None:
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
        try:
            await serve(config, host, port, reuse_port=reuse_port, idle_timeout_s=idle_timeout_s,
                        ready=lambda bound: print(f"cdr_receiver listening on http://{host}:{bound}/api/cdr",
                                                  flush=True))
        except asyncio.CancelledError:
            pass

    if uvloop is not None:
        uvloop.run(main())
    else:
        asyncio.run(main())


def main(argv: list[str] | None = None) -> int:
    try:
        config = Config.from_env()
    except ConfigError as exc:
        print(f"cdr_receiver: {exc}", file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(prog="python -m cdr_receiver", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=config.cdr_receiver_host)
    parser.add_argument("--port", type=int, default=config.cdr_receiver_port)
    parser.add_argument("--workers", type=int, default=config.cdr_receiver_workers)
    parser.add_argument("--idle-timeout", type=float, default=30.0,
                        help="seconds before a silent or stalled connection is closed (default 30)")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f"--workers {args.workers}: use 1 or more")
    if args.idle_timeout <= 0:
        parser.error(f"--idle-timeout {args.idle_timeout}: use a number of seconds above 0")
    logging.basicConfig(level=config.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    if args.workers == 1:
        _run_worker(config, args.host, args.port, reuse_port=False, idle_timeout_s=args.idle_timeout)
        return 0

    children: list[int] = []
    for _ in range(args.workers):
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            try:
                _run_worker(config, args.host, args.port, reuse_port=True, idle_timeout_s=args.idle_timeout)
            finally:
                os._exit(0)
        children.append(pid)

    def stop(signum, frame) -> None:
        for child in children:
            try:
                os.kill(child, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    status = 0
    running = set(children)
    while running:
        pid, code = os.wait()
        running.discard(pid)
        if os.waitstatus_to_exitcode(code) not in (0, -signal.SIGTERM):
            # One worker failed (its port taken, a crash): stop the others.
            status = 1
            stop(None, None)
    return status


if __name__ == "__main__":
    sys.exit(main())
