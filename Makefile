# The README's two commands. Both bootstrap .venv from requirements.lock first.
.PHONY: run test bootstrap lint

bootstrap:
	@bash scripts/bootstrap.sh

run: bootstrap
	@.venv/bin/python manage.py runplatform

test: bootstrap
	@bash scripts/test.sh

lint: bootstrap
	@.venv/bin/ruff check .
	@.venv/bin/lint-imports
