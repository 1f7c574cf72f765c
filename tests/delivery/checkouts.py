"""Copies of this checkout as git repositories of their own, where the tests rename the service, release the model
and update from it: the files git tracks, as they are in the working tree (uncommitted changes included)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from app import SERVICE_NAME
from tests.delivery.ci_files import ROOT
from tests.service import uv_executable

# Commits made in the copies name someone, whatever this machine's git configuration says.
IDENTITY = {
    "GIT_AUTHOR_NAME": "team",
    "GIT_AUTHOR_EMAIL": "team@example.com",
    "GIT_COMMITTER_NAME": "team",
    "GIT_COMMITTER_EMAIL": "team@example.com",
}
# This service's name in each form it takes (issue 30 lists them): a rename leaves none behind. A service renamed
# from the model runs these tests too, with its own names here, and renames itself to another.
OLD_NAMES = ("items-service", "items_service", "ItemsService", "items-staging", "items-production")
NEW_NAME = max({"orders-service", "billing-service"} - {SERVICE_NAME})  # orders-service, unless it is this one
# What a service started from the model records; the model has none, nor has a copy standing for it.
MODEL_RELEASE = ".model-release"
# The renamed service's own tests that a rename could break: what it says it is, to clients and in its files.
RENAMED_TESTS = (
    "tests/test_health.py",
    "tests/test_settings.py",
    "tests/auth/test_access.py",
    "tests/auth/test_tokens.py",
    "tests/observability/test_tracing.py",
    "tests/delivery/test_deploy.py",
    "tests/delivery/test_contributing.py",
)


def run(*command: str, cwd: Path, check: bool = True, database: str = "") -> subprocess.CompletedProcess[str]:
    # The copy's tests empty the database TEST_DATABASE_URL names: one of their own, never this session's.
    environment = {**os.environ, **IDENTITY, "TEST_DATABASE_URL": database}
    return subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=600, check=check)


def git(*arguments: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run("git", *arguments, cwd=cwd, check=check)


def copy_of_checkout(target: Path) -> Path:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for relative in filter(None, listed.decode().split("\0")):
        if (ROOT / relative).is_file() and relative != MODEL_RELEASE:  # not a file deleted in the working tree
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / relative, target / relative)
    git("init", "--quiet", "--initial-branch=main", cwd=target)
    commit(target, "The model")
    return target


def commit(checkout: Path, message: str) -> None:
    git("add", "--all", cwd=checkout)
    git("commit", "--quiet", "--message", message, cwd=checkout)


def rename(checkout: Path, name: str = NEW_NAME) -> subprocess.CompletedProcess[str]:
    return run(sys.executable, "ci/rename.py", name, cwd=checkout, check=False)


def leftovers(checkout: Path) -> list[str]:
    """Each line or file name of the checkout, CHANGELOG.md aside, that still holds one of the model's names."""
    patterns = [option for name in OLD_NAMES for option in ("-e", name)]
    found = git("grep", "--fixed-strings", *patterns, "--", ".", ":!CHANGELOG.md", cwd=checkout, check=False)
    files = git("ls-files", cwd=checkout).stdout.splitlines()
    return found.stdout.splitlines() + [path for path in files if any(name in path for name in OLD_NAMES)]


def renamed_tests_pass(checkout: Path, database: str) -> subprocess.CompletedProcess[str]:
    """The renamed service's tests, in an environment of its own (uv makes it from the lock: a renamed lock that
    does not fit its pyproject.toml fails here), on the PostgreSQL database `database`. Not on a server of their
    own: its programs would run as PostgreSQL's user, who may not enter this session's temporary directory."""
    command = [uv_executable(), "run", "--locked", "pytest", "-p", "no:cacheprovider", "-n", "0", "-q", *RENAMED_TESTS]
    return run(*command, cwd=checkout, check=False, database=database)
