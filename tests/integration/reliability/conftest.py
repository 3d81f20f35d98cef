"""Reliability tests: one real server over the fixture index (its own conversation database), shared."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.settings import Settings
from eval.live_server import LiveServer, serving


@pytest.fixture(scope="package")
def live(fixture_index: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``curbside serve`` on 127.0.0.1 over the fixture index, ready to answer, stopped at the end."""
    with serving(fixture_index, tmp_path_factory.mktemp("reliability-server")) as server:
        yield server


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    from tests.integration.reliability.tally import ATTACK_RUNS, FIGURES, FUZZ

    lines = FUZZ.lines() + ATTACK_RUNS.lines() + FIGURES
    if lines:
        terminalreporter.section("reliability figures")
        for line in lines:
            terminalreporter.write_line(line)
