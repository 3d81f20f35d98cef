"""A small Server-Sent Events reader for the tests (and the benchmark)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass
class Frame:
    event: str
    data: str
    id: str | None = None


def frames(lines: Iterable[str]) -> Iterator[Frame]:
    event: str = "message"
    eid: str | None = None
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                yield Frame(event, "\n".join(data), eid)
            event, eid, data = "message", None, []
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        elif line.startswith("id:"):
            eid = line[3:].strip()
    if data:
        yield Frame(event, "\n".join(data), eid)
