"""Rename the service everywhere: `just rename NEW-NAME`.

    python ci/rename.py orders-service

The old name is pyproject.toml's [project] name, so the script can run again (the second run changes nothing) and
rename a renamed service. Every file git tracks but CHANGELOG.md (history keeps the names it had) is rewritten, in
each form the name takes: items-service, items_service, ItemsService, and the namespaces items-staging and
items-production (the name without "-service"). Files named after the service are moved. It prints what it changed.
The items resource keeps its name: it is what the service serves, not what it is called.

It also records the model's release the service started from in .model-release, once, for `just update`.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

# A distribution name (PEP 508, normalised: lower case, single hyphens) that is also a DNS-1035 label, as Kubernetes
# wants for a Service's name: a letter first, and short enough for the longest label made of it
# ("<name>-production", at most 63 characters).
VALID = re.compile(r"[a-z](?:-?[a-z0-9])*")
LONGEST = 63 - len("-production")
UNTOUCHED = frozenset({"CHANGELOG.md"})
MODEL_RELEASE = ".model-release"


def forms(name: str) -> list[str]:
    """The spellings of a name, longest first where one contains another: kebab, snake, Pascal case, namespaces."""
    short = name.removesuffix("-service") or name
    return [
        f"{short}-staging",
        f"{short}-production",
        name,
        name.replace("-", "_"),
        "".join(word.capitalize() for word in name.split("-")),
    ]


def refusal(name: str) -> str | None:
    if not VALID.fullmatch(name):
        return f"{name!r} is not a valid name: lower-case letters, digits and single hyphens, a letter first"
    if len(name) > LONGEST:
        return f"{name!r} is too long: at most {LONGEST} characters, so that {name}-production is a DNS label"
    return None


def tracked_files(root: Path) -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True).stdout
    return [root / path for path in listed.decode().split("\0") if path and (root / path).is_file()]


def rename(root: Path, new: str) -> list[str]:
    """Rename the service in the checkout at `root`; returns a line per change."""
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    old: str = project["name"]
    changes: list[str] = []
    if not (root / MODEL_RELEASE).exists():
        (root / MODEL_RELEASE).write_text(f"v{project['version']}\n")
        changes.append(f"{MODEL_RELEASE}: started from the model's v{project['version']}")
    if old == new:
        return changes
    replacements = list(zip(forms(old), forms(new), strict=True))
    pattern = re.compile("|".join(re.escape(before) for before, _ in replacements))
    mapping = dict(replacements)
    for path in tracked_files(root):
        relative = path.relative_to(root).as_posix()
        if relative in UNTOUCHED:
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:  # not text: nothing of the name to rewrite
            continue
        renamed, count = pattern.subn(lambda match: mapping[match.group()], text)
        if count:
            path.write_text(renamed)
            changes.append(f"{relative}: {count} replaced")
        if old in path.name:
            target = path.with_name(path.name.replace(old, new))
            subprocess.run(["git", "mv", str(path), str(target)], cwd=root, check=True)
            changes.append(f"{relative} -> {target.relative_to(root).as_posix()}")
    return changes


def main(arguments: list[str]) -> int:
    if len(arguments) != 1:
        print(__doc__)
        return 2
    new = arguments[0]
    if (refused := refusal(new)) is not None:
        print(refused, file=sys.stderr)
        return 2
    # The checkout it runs in, which need not be its own: `just update` renames the model's releases with it.
    top = subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=True)
    root = Path(top.stdout.strip())
    changes = rename(root, new)
    print("\n".join(changes) if changes else f"Nothing to change: the service is {new} already.")
    if any(" replaced" in change for change in changes):
        print(
            f"Renamed to {new}. Its problem types are now tag:{new},2026:problems/...: clients that matched on the"
            " old ones must follow (README.md#start-your-own-service). Check with `just check`, then commit."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
