"""`just rename`: a copy of this checkout renamed to orders-service keeps none of the model's names, and its tests and
deployment files still pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.delivery.checkouts import (
    NEW_NAME,
    copy_of_checkout,
    git,
    leftovers,
    rename,
    renamed_tests_pass,
    run,
)
from tests.delivery.ci_files import ROOT
from tests.service import uv_executable


@pytest.fixture(scope="module")
def renamed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    checkout = copy_of_checkout(tmp_path_factory.mktemp("renamed"))
    assert leftovers(checkout), "the model's names are found where they are"
    result = rename(checkout)
    assert result.returncode == 0, result.stderr
    return checkout, result.stdout


def test_a_rename_leaves_none_of_the_model_names_outside_the_changelog(renamed: tuple[Path, str]) -> None:
    checkout, printed = renamed

    assert leftovers(checkout) == []
    assert (
        checkout / ".model-release"
    ).read_text() == f"v{run(uv_executable(), 'version', '--short', cwd=checkout).stdout}"
    assert f'name = "{NEW_NAME}"' in (checkout / "pyproject.toml").read_text()
    assert (checkout / "CHANGELOG.md").read_bytes() == (ROOT / "CHANGELOG.md").read_bytes(), "history stays as it was"
    assert f"ci/deploy/grafana/dashboards/{NEW_NAME}.json" in git("ls-files", cwd=checkout).stdout
    # It prints what it changed, file by file.
    assert "pyproject.toml: 1 replaced" in printed
    assert f"-> ci/deploy/grafana/dashboards/{NEW_NAME}.json" in printed
    assert f"tag:{NEW_NAME},2026:problems/" in printed


def test_the_renamed_service_passes_its_tests_and_its_deployment_checks(
    renamed: tuple[Path, str], copy_database: str
) -> None:
    checkout, _ = renamed

    tests = renamed_tests_pass(checkout, copy_database)
    assert tests.returncode == 0, tests.stdout[-3000:]
    deploy = run(uv_executable(), "run", "--locked", "just", "lint-deploy", cwd=checkout, check=False)
    assert deploy.returncode == 0, (deploy.stdout + deploy.stderr)[-3000:]
    assert f"ci/deploy/grafana/dashboards/{NEW_NAME}.json: importable" in deploy.stdout


def test_a_second_rename_to_the_same_name_changes_nothing(renamed: tuple[Path, str]) -> None:
    checkout, _ = renamed
    before = git("status", "--porcelain", cwd=checkout).stdout

    again = rename(checkout)

    assert again.returncode == 0
    assert again.stdout == f"Nothing to change: the service is {NEW_NAME} already.\n"
    assert git("status", "--porcelain", cwd=checkout).stdout == before


@pytest.mark.parametrize(
    "name",
    [
        "Orders-service",
        "orders_service",
        "orders.service",
        "orders--service",
        "-orders",
        "orders-",
        "1orders",
        "",
        "x" * 53,
    ],
)
def test_a_name_that_is_not_a_distribution_and_dns_name_is_refused_and_nothing_changes(
    name: str, tmp_path: Path
) -> None:
    checkout = copy_of_checkout(tmp_path)

    result = rename(checkout, name)

    assert result.returncode == 2
    assert "is not a valid name" in result.stderr or "is too long" in result.stderr
    assert git("status", "--porcelain", cwd=checkout).stdout == ""


def test_the_longest_name_allowed_makes_labels_kubernetes_accepts(tmp_path: Path) -> None:
    checkout = copy_of_checkout(tmp_path)
    longest = "o" * 52

    assert rename(checkout, longest).returncode == 0
    assert len(f"{longest}-production") == 63  # a label value's limit
