# The single command surface: developers, .ci/run and the workflows in ci/ all call these recipes.
set shell := ["bash", "-euo", "pipefail", "-c"]

# uv sets UV to its own path inside `uv run`, so recipes work when uv itself is not on PATH.
uv := env("UV", "uv")
run := uv + " run --locked"

# List the recipes
default:
    @just --list --unsorted

# Install the locked environment (runtime and dev tools) into .venv
sync:
    {{uv}} sync --locked

# Run the service as in production: JSON logs, HOST:PORT and every variable in the README honoured
run:
    {{run}} python -m app

# Run the service with auto-reload and readable coloured logs, for local work
dev:
    LOG_FORMAT="${LOG_FORMAT:-console}" {{run}} python -m app --reload

# Format the code and apply safe lint fixes
fmt:
    {{run}} ruff format .
    {{run}} ruff check --fix .

# Lint and check formatting (ruff)
lint:
    {{run}} ruff check .
    {{run}} ruff format --check .

# Type-check in pyright's strict mode
typecheck:
    {{run}} pyright

# Run the tests with branch coverage of app/ (100% required); arguments go to pytest
test *pytest_args:
    {{run}} coverage erase
    {{run}} coverage run -m pytest {{pytest_args}}
    {{run}} coverage combine --quiet
    {{run}} coverage report

# Everything a change must pass before it is pushed
check: lint typecheck test
