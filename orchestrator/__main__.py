"""Entry point: ``python -m orchestrator``."""

from gevent import monkey

monkey.patch_all()

import logging  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

import gevent  # noqa: E402
import psycopg2.extensions  # noqa: E402
import psycopg2.extras  # noqa: E402

from dialer_common.config import Config  # noqa: E402
from dialer_common.errors import ConfigError  # noqa: E402


def main() -> int:
    """Run the orchestrator until SIGTERM or SIGINT."""
    # Lets other greenlets run while a query waits on PostgreSQL.
    psycopg2.extensions.set_wait_callback(psycopg2.extras.wait_select)
    try:
        config = Config.from_env()
    except ConfigError as error:
        print(f"orchestrator: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=config.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr
    )
    from orchestrator.daemon import Orchestrator

    orchestrator = Orchestrator(config)
    gevent.signal_handler(signal.SIGTERM, orchestrator.stop)
    gevent.signal_handler(signal.SIGINT, orchestrator.stop)
    orchestrator.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
