"""The passage store: what the select stage reads of it beyond retrieval (a label's sections by prefix)."""

from __future__ import annotations

from pathlib import Path

from app.index.passages import PassageStore
from app.schema import Passage


def _passage(pid: str) -> Passage:
    return Passage(
        id=pid, record_id=pid.split("#", maxsplit=1)[0], text=f"text of {pid}", source_type="fda_label"
    )


def test_a_labels_sections_are_read_by_their_record_prefix(tmp_path: Path) -> None:
    ids = [
        "label:a:adverse-reactions#0",
        "label:ab:adverse-reactions#0",  # another label whose set id starts the same
        "label:a:indications-and-usage#0",
        "label:a:adverse-reactions#1",
        "dailymed-excerpt:4#0",
    ]
    PassageStore.build(tmp_path / "p.sqlite3", [_passage(i) for i in ids])
    store = PassageStore(tmp_path / "p.sqlite3")
    try:
        assert [p.id for p in store.by_record_prefix("label:a:")] == [
            "label:a:adverse-reactions#0",
            "label:a:indications-and-usage#0",
            "label:a:adverse-reactions#1",
        ]
        assert store.by_record_prefix("label:zzz:") == []
    finally:
        store.close()
