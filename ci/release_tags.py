"""The image tags a release pushes, by docker/metadata-action's semver rules.

    python ci/release_tags.py VERSION COMMIT      # e.g. 1.4.2 0123abcd... -> one tag per line

X.Y.Z always; X.Y and latest unless it is a pre-release; X unless it is a pre-release or X is 0
(0.x versions promise no compatibility between minors); sha-<first 7 of the commit> always.
"""

from __future__ import annotations

import re
import sys

SEMVER = re.compile(
    r"^(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<prerelease>[0-9A-Za-z.-]+))?(?:\+(?P<build>[0-9A-Za-z.-]+))?$"
)
COMMIT = re.compile(r"^[0-9a-f]{7,40}$")


def release_tags(version: str, commit: str) -> list[str]:
    """The tags for `version` (X.Y.Z, optionally -pre-release) built from `commit`."""
    match = SEMVER.match(version)
    if match is None:
        raise ValueError(f"{version!r} is not a semantic version (X.Y.Z or X.Y.Z-pre.release)")
    if COMMIT.match(commit) is None:
        raise ValueError(f"{commit!r} is not a git commit id")
    major, minor = match["major"], match["minor"]
    # Tags cannot hold "+": build metadata is dropped, as metadata-action does.
    tags = [version.split("+", 1)[0]]
    if match["prerelease"] is None:
        tags.append(f"{major}.{minor}")
        if major != "0":
            tags.append(major)
        tags.append("latest")
    tags.append(f"sha-{commit[:7]}")
    return tags


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    try:
        print("\n".join(release_tags(sys.argv[1], sys.argv[2])))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
