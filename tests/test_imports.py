"""The package's modules import each other in one direction only: a change to one never needs its importers'."""

from __future__ import annotations

import itertools

import grimp


def test_no_module_of_app_imports_itself_through_others() -> None:
    # Every import counts, those inside functions too: a lazy import still ties the two modules together.
    graph = grimp.build_graph("app")
    cycles = [
        (first, second)
        for first, second in itertools.combinations(sorted(graph.modules), 2)
        if graph.chain_exists(importer=first, imported=second) and graph.chain_exists(importer=second, imported=first)
    ]

    assert len(graph.modules) > 30
    assert cycles == []
