# The README's two commands. Both bootstrap .venv from requirements.lock first.
.PHONY: run test bootstrap lint docs

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

# `make docs`: the manual (docs/, mkdocs.yml) at http://127.0.0.1:8008, rebuilt on every edit.
DOCS_PORT ?= 8008

docs: bootstrap
	@.venv/bin/mkdocs serve --dev-addr '127.0.0.1:$(DOCS_PORT)'
