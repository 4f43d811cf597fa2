"""Command line: ``python -m switchsim`` runs one simulated FreeSWITCH node."""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402

from dialer_common.config import Config  # noqa: E402
from switchsim.callees import OUTCOMES, CalleeProfile, ProfileError  # noqa: E402
from switchsim.cdr import CdrPoster  # noqa: E402
from switchsim.node import Node, NodeSettings  # noqa: E402
from switchsim.server import EslServer  # noqa: E402
from switchsim.templates import Templates  # noqa: E402

log = logging.getLogger("switchsim")


def build_parser(config: Config) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m switchsim", description="Simulated FreeSWITCH 1.10 Event Socket node."
    )
    parser.add_argument(
        "--host", default=config.sim_listen_host, help="address to listen on (default %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=config.sim_listen_port, help="Event Socket TCP port (default %(default)s)"
    )
    parser.add_argument("--password", default=config.sim_password, help="Event Socket password")
    parser.add_argument(
        "--seed",
        type=int,
        default=config.sim_seed,
        help="seed of the simulated callees (default %(default)s)",
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=config.sim_speed,
        help="time speed-up, 10 = ten times faster (default %(default)s)",
    )
    parser.add_argument(
        "--profile", type=Path, help="JSON callee profile: outcome mix, timings, forced outcomes"
    )
    parser.add_argument(
        "--outcomes",
        type=Path,
        help=f"JSON map number -> outcome ({', '.join(OUTCOMES)}) forcing those numbers",
    )
    parser.add_argument(
        "--cdr-url", default=config.cdr_url, help="where CDRs are posted (default %(default)s, the CDR receiver)"
    )
    parser.add_argument("--no-cdr", action="store_true", help="do not post CDRs")
    parser.add_argument(
        "--cdr-retries", type=int, default=0, help="extra CDR attempts after a non-2xx answer (default 0)"
    )
    parser.add_argument(
        "--cdr-delay", type=float, default=1.0, help="seconds between CDR attempts (default 1.0)"
    )
    parser.add_argument(
        "--cdr-form", action="store_true", help="post CDRs form-encoded (cdr=<percent-encoded JSON>)"
    )
    parser.add_argument(
        "--cdr-err-dir",
        type=Path,
        default=Path("var/switchsim/cdr-err"),
        help="where undelivered CDRs are written as <uuid>.cdr.json",
    )
    parser.add_argument(
        "--hostname", default="sim-node-1", help="FreeSWITCH-Hostname of the node (default %(default)s)"
    )
    parser.add_argument(
        "--heartbeat",
        type=float,
        default=20.0,
        help="seconds between HEARTBEAT events, not scaled (default 20)",
    )
    parser.add_argument(
        "--agent-wrap-up",
        type=int,
        default=10,
        help="wrap_up_time in seconds of agents added by callcenter_config (default 10)",
    )
    parser.add_argument(
        "--agent-hangup-share",
        type=float,
        default=0.6,
        help="share of bridged calls the agent ends, 0..1 (default 0.6)",
    )
    parser.add_argument(
        "--queue-max-wait",
        type=float,
        default=3.0,
        help="mod_callcenter max-wait-time in simulated seconds, 0 = off (default %(default)s)",
    )
    parser.add_argument(
        "--queue-no-agent-wait",
        type=float,
        default=0.0,
        help="simulated seconds a member waits while every tier agent is Logged Out, 0 = off "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--gateways",
        default="",
        help="comma-separated gateway names listed by sofia status before a dial string names them",
    )
    parser.add_argument(
        "--acl",
        default="",
        help="comma-separated client networks allowed to connect, e.g. 127.0.0.1/32 (default: all)",
    )
    parser.add_argument("--log-level", default=config.log_level, help="logging level (default %(default)s)")
    return parser


def load_profile(args) -> CalleeProfile:
    profile = CalleeProfile.from_file(args.profile) if args.profile else CalleeProfile()
    if args.outcomes:
        try:
            forced = json.loads(args.outcomes.read_text("utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise ProfileError(
                f"cannot read outcome map {args.outcomes}: {error}; pass a JSON object number -> outcome"
            ) from None
        profile.forced.update({str(number): outcome for number, outcome in forced.items()})
    profile.validate()
    return profile


def main(argv: list[str] | None = None) -> int:
    config = Config.from_env()
    args = build_parser(config).parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.speed <= 0:
        print(f"invalid --speed {args.speed}: expected a number > 0, e.g. 20", file=sys.stderr)
        return 2
    try:
        profile = load_profile(args)
    except ProfileError as error:
        print(str(error), file=sys.stderr)
        return 2
    templates = Templates.load()
    settings = NodeSettings(
        hostname=args.hostname,
        seed=args.seed,
        speed=args.speed,
        heartbeat_s=args.heartbeat,
        agent_wrap_up_s=args.agent_wrap_up,
        agent_hangup_share=args.agent_hangup_share,
        queue_max_wait_s=args.queue_max_wait,
        queue_no_agent_wait_s=args.queue_no_agent_wait,
        allowed_networks=[],
        gateways=[item.strip() for item in args.gateways.split(",") if item.strip()],
        cdr_enabled=not args.no_cdr,
    )
    poster = None
    if not args.no_cdr:
        poster = CdrPoster(
            args.cdr_url,
            config.cdr_user,
            config.cdr_password,
            templates,
            retries=args.cdr_retries,
            delay_s=args.cdr_delay,
            form_encoded=args.cdr_form,
            err_log_dir=args.cdr_err_dir,
        )
    node = Node(settings, profile, templates, poster)
    networks = [item.strip() for item in args.acl.split(",") if item.strip()]
    try:
        server = EslServer(node, args.host, args.port, args.password, networks)
        server.start()
    except (OSError, ValueError) as error:
        print(f"cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    heartbeat = gevent.spawn(node.heartbeat_loop)
    log.info(
        "switchsim.start address=%s:%s speed=%s seed=%s hostname=%s cdr=%s",
        args.host,
        server.address[1],
        args.speed,
        args.seed,
        args.hostname,
        "off" if args.no_cdr else args.cdr_url,
    )
    stop = gevent.event.Event()
    gevent.signal_handler(signal.SIGTERM, stop.set)
    gevent.signal_handler(signal.SIGINT, stop.set)
    stop.wait()
    heartbeat.kill()
    server.stop()
    log.info("switchsim.stop channels=%s", len(node.channels))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
