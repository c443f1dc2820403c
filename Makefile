# The README's two commands. Each first checks the system packages it needs (installing them
# when it can: scripts/system_packages.sh), then bootstraps .venv from requirements.lock.
.PHONY: run test bootstrap lint docs

bootstrap:
	@bash scripts/bootstrap.sh

# `make run PORT=8001`: the web server's port on 127.0.0.1 (default 8000).
PORT ?= 8000

run:
	@bash scripts/system_packages.sh run
	@bash scripts/bootstrap.sh
	@.venv/bin/python manage.py runplatform --port '$(PORT)'

test:
	@bash scripts/system_packages.sh test
	@bash scripts/bootstrap.sh
	@bash scripts/test.sh

lint: bootstrap
	@.venv/bin/ruff check .
	@.venv/bin/lint-imports

# `make docs`: the manual (docs/, mkdocs.yml) at http://127.0.0.1:8008, rebuilt on every edit.
DOCS_PORT ?= 8008

docs: bootstrap
	@.venv/bin/mkdocs serve --dev-addr '127.0.0.1:$(DOCS_PORT)'
