"""Take a release of the model this service started from: `just update TAG`.

    git remote rename origin model   # once, right after cloning the model
    git fetch model --tags
    python ci/update.py v1.2.0

What the model changed between the release named in .model-release and TAG is applied to this checkout as one
commit, as a git cherry-pick applies a change: three-way, so the team's own changes stay, and only a line both
changed is a conflict, resolved as any other (then `git cherry-pick --continue`). The model's side is renamed
first, both releases by TAG's own ci/rename.py, so that the change arrives in this service's name and a line the
rename alone touched never conflicts. Read CHANGELOG.md's "Upgrading" notes between the two releases afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

MODEL_RELEASE = ".model-release"
# The model's renamed releases are commits of their own, made here whoever runs this.
AUTHOR = {"GIT_AUTHOR_NAME": "model", "GIT_AUTHOR_EMAIL": "model@localhost"}
COMMITTER = {"GIT_COMMITTER_NAME": "model", "GIT_COMMITTER_EMAIL": "model@localhost"}


class Refused(Exception):
    pass


def git(*arguments: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **AUTHOR, **COMMITTER}
    return subprocess.run(["git", *arguments], cwd=cwd, env=environment, capture_output=True, text=True, check=check)


def renamed_release(scratch: Path, rename_script: Path, name: str, release: str) -> None:
    """Make the scratch worktree's files the model's `release` under this service's name, and commit them."""
    git("read-tree", "--reset", "-u", f"{release}^{{commit}}", cwd=scratch)
    (scratch / MODEL_RELEASE).unlink(missing_ok=True)
    subprocess.run([sys.executable, str(rename_script), name], cwd=scratch, capture_output=True, check=True)
    (scratch / MODEL_RELEASE).write_text(f"{release}\n")
    git("add", "--all", cwd=scratch)
    git("commit", "--quiet", "--allow-empty", "--message", f"Take the model's {release}", cwd=scratch)


def update(root: Path, release: str) -> str:
    """Apply the model's changes up to `release` to the checkout at `root`; returns the release it started from."""
    if git("status", "--porcelain", "--untracked-files=no", cwd=root).stdout:
        raise Refused("commit or stash your changes first: the update is a commit of its own")
    started_file = root / MODEL_RELEASE
    if not started_file.exists():
        raise Refused(f"no {MODEL_RELEASE}: write the model's release this service started from in it (v1.1.0)")
    started = started_file.read_text().strip()
    for tag in (started, release):
        if git("rev-parse", "--verify", "--quiet", f"{tag}^{{commit}}", cwd=root, check=False).returncode:
            raise Refused(f"no {tag} here: fetch the model's tags first (git fetch model --tags)")
    name = tomllib.loads((root / "pyproject.toml").read_text())["project"]["name"]
    with tempfile.TemporaryDirectory(prefix="model-update-") as temporary:
        scratch, rename_script = Path(temporary) / "model", Path(temporary) / "rename.py"
        rename_script.write_text(git("show", f"{release}:ci/rename.py", cwd=root).stdout)
        git("worktree", "add", "--detach", "--quiet", str(scratch), f"{started}^{{commit}}", cwd=root)
        try:
            renamed_release(scratch, rename_script, name, started)
            renamed_release(scratch, rename_script, name, release)
            change = git("rev-parse", "HEAD", cwd=scratch).stdout.strip()
        finally:
            git("worktree", "remove", "--force", str(scratch), cwd=root)
    picked = subprocess.run(["git", "cherry-pick", change], cwd=root, capture_output=True, text=True, check=False)
    if picked.returncode:
        raise Refused(
            f"{picked.stdout}{picked.stderr}\nResolve the conflicts above, then `git cherry-pick --continue`"
            f" (or `git cherry-pick --abort` to stay on {started})."
        )
    return started


def main(arguments: list[str]) -> int:
    if len(arguments) != 1:
        print(__doc__)
        return 2
    root = Path(git("rev-parse", "--show-toplevel", cwd=Path.cwd()).stdout.strip())
    try:
        started = update(root, arguments[0])
    except Refused as refused:
        print(refused, file=sys.stderr)
        return 1
    print(f"Took the model's {arguments[0]} (from {started}): read CHANGELOG.md's Upgrading notes, then `just check`.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
