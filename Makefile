# The README's two commands. Both bootstrap .venv from requirements.lock first.
.PHONY: run test bootstrap lint

bootstrap:
	@bash scripts/bootstrap.sh

# `make run PORT=8001`: the web server's port on 127.0.0.1 (default 8000).
PORT ?= 8000

run: bootstrap
	@.venv/bin/python manage.py runplatform --port '$(PORT)'

test: bootstrap
	@bash scripts/test.sh

lint: bootstrap
	@.venv/bin/ruff check .
	@.venv/bin/lint-imports
