"""Wait until a URL answers: wait_http.py URL [SECONDS]. Exit 0 when it did, 1 when it did not."""

import sys
import time
import urllib.error
import urllib.request


def main() -> int:
    url = sys.argv[1]
    deadline = time.monotonic() + float(sys.argv[2] if len(sys.argv) > 2 else 20)
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return 0
        except urllib.error.HTTPError:
            # Any HTTP status means the server is up (/health says 503 while degraded).
            return 0
        except OSError:
            time.sleep(0.2)
    return 1


if __name__ == "__main__":
    sys.exit(main())
