"""Checks a Grafana dashboard offline: `just lint-deploy` calls this on ci/deploy/grafana/dashboards/*.json.

    python ci/dashboard_check.py DASHBOARD.json...

A dashboard must import by hand into any Grafana: no `__inputs` to fill in, a data source variable that every
panel and query uses, unique panel ids. Every PromQL expression must parse: with the dashboard's variables
replaced by sample values, the expressions become recording rules of a temporary file that `promtool check
rules` parses with Prometheus's own parser (promtool cannot parse a bare expression offline).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DATASOURCE = "${datasource}"
# What Grafana puts in place of its variables when it runs a query: any value of the right kind parses alike.
SAMPLE_VALUES = {
    "__rate_interval": "1m",
    "__interval": "1m",
    "__range": "1h",
    "job": "items-service",
    "namespace": "compose",
    "instance": ".*",
}
VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, those inside collapsed rows included."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def with_sample_values(expression: str) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match[1] or match[2]
        if name not in SAMPLE_VALUES:
            raise ValueError(f"unknown variable ${name} in {expression!r}")
        return SAMPLE_VALUES[name]

    return VARIABLE.sub(replace, expression)


def problems_of(dashboard: dict[str, Any]) -> list[str]:
    """What stops the dashboard from importing by hand, or from working once imported."""
    found: list[str] = []
    if "__inputs" in dashboard:
        found.append("__inputs asks for a data source at import: use the datasource variable instead")
    variables = {variable["name"]: variable for variable in dashboard.get("templating", {}).get("list", [])}
    if variables.get("datasource", {}).get("type") != "datasource":
        found.append("no variable 'datasource' of type datasource")
    ids = [panel.get("id") for panel in panels(dashboard)]
    if len(ids) != len(set(ids)):
        found.append(f"panel ids are not unique: {ids}")
    for panel in panels(dashboard):
        if panel["type"] == "row":
            continue
        title = panel.get("title", panel.get("id"))
        if panel.get("datasource", {}).get("uid") != DATASOURCE:
            found.append(f"panel {title!r} does not use the datasource variable")
        if not panel.get("targets"):
            found.append(f"panel {title!r} has no query")
        found.extend(
            f"a query of panel {title!r} does not use the datasource variable"
            for target in panel.get("targets", [])
            if target.get("datasource", {}).get("uid") != DATASOURCE
        )
    return found


def expressions(dashboard: dict[str, Any]) -> list[str]:
    """The PromQL of every panel's queries and of every query variable."""
    found = [target["expr"] for panel in panels(dashboard) for target in panel.get("targets", []) if "expr" in target]
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") == "query":
            query = variable["query"]
            found.append(query["query"] if isinstance(query, dict) else query)
    return [label_values_as_promql(expression) for expression in found]


def label_values_as_promql(query: str) -> str:
    """Grafana's `label_values(SELECTOR, LABEL)` queries the series of SELECTOR: that selector must parse."""
    match = re.fullmatch(r"label_values\((?P<selector>.+),\s*\w+\)", query.strip())
    return match["selector"] if match else query


def promql_errors(queries: list[str]) -> str | None:
    """Parse the queries with promtool; None when all parse, else promtool's report."""
    rules = [
        {"record": f"dashboard:query_{number}", "expr": with_sample_values(query)}
        for number, query in enumerate(queries, start=1)
    ]
    with tempfile.TemporaryDirectory() as directory:
        # JSON is YAML: promtool reads the file as it is.
        rules_file = Path(directory, "dashboard-queries.yml")
        rules_file.write_text(json.dumps({"groups": [{"name": "dashboard", "rules": rules}]}))
        result = subprocess.run(
            ["promtool", "check", "rules", str(rules_file)],  # noqa: S607 - promtool from PATH, as the recipe installs it
            capture_output=True,
            text=True,
            check=False,
        )
    return None if result.returncode == 0 else result.stdout + result.stderr


def main(paths: list[str]) -> int:
    failed = False
    for path in paths:
        dashboard: dict[str, Any] = json.loads(Path(path).read_text())
        problems = problems_of(dashboard)
        queries = expressions(dashboard)
        if (errors := promql_errors(queries)) is not None:
            numbered = "\n".join(f"  dashboard:query_{n}: {query}" for n, query in enumerate(queries, start=1))
            problems.append(f"PromQL that does not parse:\n{errors}\nThe queries, by the rule names above:\n{numbered}")
        for problem in problems:
            print(f"{path}: {problem}")
        failed = failed or bool(problems)
        if not problems:
            print(f"{path}: importable, {len(queries)} PromQL queries parse")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
