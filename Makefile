# Medley: one command runs it, one command tests it.
# uv from PATH, else the one pip installs (`python3 -m uv` works before any PATH rehash).
UV ?= $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
export UV_LINK_MODE ?= copy

.PHONY: help install run test lint format typecheck bench migrate compose-up compose-down clean

help:
	@echo "make run    - start Medley (embedded PostgreSQL + NATS, every service, the gateway)"
	@echo "make test   - run the whole test suite"
	@echo "make lint   - ruff + mypy"
	@echo "make bench  - benchmarks under tests/bench (not part of make test)"

install:
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen

run: install
	$(UV) run --frozen python -m medley_local run

test: install
	$(UV) run --frozen pytest

lint: install
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy

format: install
	$(UV) run --frozen ruff format .
	$(UV) run --frozen ruff check --fix .

typecheck: install
	$(UV) run --frozen mypy

bench: install
	$(UV) run --frozen pytest tests/bench -p no:cacheprovider -s --override-ini="norecursedirs=" -m bench

# Roles, schemas and every Alembic history on the server MEDLEY_DATABASE_URL names (an
# administrator's URL); `make run` does this itself on its embedded server.
migrate: install
	$(UV) run --frozen python -m medley_local provision

compose-up:
	docker compose up --build

compose-down:
	docker compose down

clean:
	rm -rf .medley .pytest_cache .mypy_cache .ruff_cache
