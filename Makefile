# Two commands a user needs: `make demo` and `make test`. Both install what is
# missing (Debian packages need root or sudo) and start private PostgreSQL and
# Redis instances under ./var.

.PHONY: demo test install services stop bench lint

demo:
	bash scripts/demo.sh

test:
	bash scripts/test.sh

install:
	bash scripts/services.sh install

services:
	bash scripts/services.sh start

stop:
	bash scripts/services.sh stop

bench:
	bash scripts/bench.sh

lint:
	.venv/bin/python -m ruff check . || true
