"""Milvus as the dense store, through ``pymilvus.MilvusClient`` (extra ``scale``).

The same code talks to an embedded Milvus Lite file (``milvus_uri = var/milvus.db``), a standalone server
or a cluster (``http://host:19530``). One collection holds every passage vector of an index build:

==========  ====================  ===============================================================
field       type                  use
==========  ====================  ===============================================================
row         INT64, primary key    the passage's row in the built index (passages.sqlite, years…)
local       INT64                 its position within its source type (the FAISS store's local id)
source      VARCHAR               source type; rows also live in one partition per source type,
                                  so a section's search reads only its partition
year        INT32                 publication year (-1 unknown), filterable
drugs       ARRAY<VARCHAR>        normalised drug keys of a label passage, filterable
vector      FLOAT_VECTOR(d)       the unit vector (inner product)
==========  ====================  ===============================================================

Source type, year range and drugs are pushed down as a Milvus boolean filter. Publishing is batch upserts
into a fresh collection named after the build; the index is built and loaded, its row count checked, and
only then is the alias (``milvus_collection``) switched to it — so a partially built collection is never
served, just as ``index/current`` is only swapped to a complete build. The collection's name carries the
manifest's passages digest (``<alias>_<sha256[:12]>_<stamp>``; Milvus Lite keeps no collection
description); a collection whose digest or row count does not match the local index is refused with the
command that fixes it. Every call has a timeout (``milvus_timeout_s``): a server that is
down or slow raises ``MilvusUnavailable`` instead of hanging.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from app.index.manifest import IndexMismatch, Manifest, read_manifest
from app.schema import SOURCE_TYPES, SourceType
from app.settings import IndexSettings, Settings

VECTOR = "vector"
MAX_DRUGS = 32
MAX_DRUG_CHARS = 256
# Which of ``milvus_index_params`` each index type takes.
INDEX_PARAM_KEYS: dict[str, tuple[str, ...]] = {
    "FLAT": (),
    "HNSW": ("M", "efConstruction"),
    "IVF_FLAT": ("nlist",),
    "IVF_SQ8": ("nlist",),
    "IVF_PQ": ("nlist", "m", "nbits"),
    "AUTOINDEX": (),
}
SEARCH_PARAM_KEYS: dict[str, tuple[str, ...]] = {
    "FLAT": (),
    "HNSW": ("ef",),
    "IVF_FLAT": ("nprobe",),
    "IVF_SQ8": ("nprobe",),
    "IVF_PQ": ("nprobe",),
    "AUTOINDEX": (),
}


class MilvusUnavailable(IndexMismatch):
    """Milvus cannot be reached or answered an error; the message says what to do.

    An ``IndexMismatch``: the server keeps /readyz not ready (and retries the load) and answers 503
    index-unavailable with Retry-After, exactly as for a missing or stale local index.
    """


def resolve_uri(settings: Settings) -> str:
    return settings.index.milvus_uri or str(settings.paths.data_dir / "milvus.db")


def connect(uri: str, timeout: float) -> Any:
    """A ``MilvusClient`` for ``uri``, or ``MilvusUnavailable`` (never a hang)."""
    try:
        from pymilvus import MilvusClient
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
        raise MilvusUnavailable(
            "the Milvus store needs the 'scale' extra: pip install -e '.[scale]'"
        ) from exc
    if "://" not in uri:
        Path(uri).parent.mkdir(parents=True, exist_ok=True)
    try:
        return MilvusClient(uri=uri, timeout=timeout)
    except Exception as exc:
        raise MilvusUnavailable(
            f"Milvus at {uri} is not reachable ({_reason(exc)}); start it, fix CURBSIDE_INDEX__MILVUS_URI, "
            "or serve from FAISS with CURBSIDE_INDEX__DENSE_STORE=faiss"
        ) from exc


def _reason(exc: BaseException) -> str:
    return str(getattr(exc, "message", None) or exc).splitlines()[0][:200]


def _quote(value: str) -> str:
    return json.dumps(value)  # a double-quoted string literal with escapes, as Milvus expressions take


def filter_expr(
    source_type: str | None = None,
    *,
    year_min: int | None = None,
    year_max: int | None = None,
    drugs: Sequence[str] | None = None,
) -> str:
    """The Milvus boolean expression for the filters ('' when none)."""
    parts = []
    if source_type is not None:
        parts.append(f"source == {_quote(source_type)}")
    if year_min is not None:
        parts.append(f"year >= {int(year_min)}")
    if year_max is not None:
        parts.append(f"year <= {int(year_max)}")
    if drugs is not None:
        parts.append(f"array_contains_any(drugs, [{', '.join(_quote(d) for d in drugs)}])")
    return " and ".join(parts)


def index_params(client: Any, settings: IndexSettings) -> Any:
    kind = settings.milvus_index_type
    params = {k: v for k, v in settings.milvus_index_params.items() if k in INDEX_PARAM_KEYS[kind]}
    ip = client.prepare_index_params()
    ip.add_index(VECTOR, index_type=kind, metric_type="IP", params=params)
    return ip


def search_params(settings: IndexSettings) -> dict[str, Any]:
    kind = settings.milvus_index_type
    params = {k: v for k, v in settings.milvus_search_params.items() if k in SEARCH_PARAM_KEYS[kind]}
    return {"metric_type": "IP", "params": params}


class MilvusStore:
    """One section's view of the served collection (``source_type`` None: the whole collection)."""

    kind = "milvus"

    def __init__(
        self, client: Any, collection: str, source_type: str | None, rows: int, settings: IndexSettings
    ) -> None:
        self.client = client
        self.collection = collection
        self.source_type = source_type
        self.rows = rows
        self.settings = settings

    def __len__(self) -> int:
        return self.rows

    def save(self, path: Path) -> None:
        """A pointer file: the data lives in Milvus."""
        path.write_text(json.dumps({"collection": self.collection, "source_type": self.source_type}) + "\n")

    def _search(self, query: np.ndarray, k: int, expr: str, field: str) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, self.rows)
        if k <= 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        try:
            found = self.client.search(
                self.collection,
                data=[np.asarray(query, dtype=np.float32).reshape(-1).tolist()],
                anns_field=VECTOR,
                limit=k,
                filter=expr,
                partition_names=[self.source_type] if self.source_type else None,
                output_fields=[field],
                search_params=search_params(self.settings),
                timeout=self.settings.milvus_timeout_s,
            )
        except Exception as exc:
            raise MilvusUnavailable(
                f"Milvus search in {self.collection!r} failed ({_reason(exc)}); check the server or serve "
                "from FAISS with CURBSIDE_INDEX__DENSE_STORE=faiss"
            ) from exc
        hits = found[0] if found else []
        scores = np.array([h["distance"] for h in hits], dtype=np.float32)
        ids = np.array([h["entity"][field] for h in hits], dtype=np.int64)
        return scores, ids

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, local ids within the section), like a FAISS store."""
        return self._search(query, k, filter_expr(self.source_type), "local" if self.source_type else "row")

    def search_filtered(
        self,
        query: np.ndarray,
        k: int,
        *,
        year_min: int | None = None,
        year_max: int | None = None,
        drugs: Sequence[str] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(scores, global rows) with the filters evaluated inside Milvus (pushed down)."""
        expr = filter_expr(self.source_type, year_min=year_min, year_max=year_max, drugs=drugs)
        return self._search(query, k, expr, "row")


# -- publishing a built index ----------------------------------------------------------------------------
def _schema(client: Any, dim: int) -> Any:
    from pymilvus import DataType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("row", DataType.INT64, is_primary=True)
    schema.add_field("local", DataType.INT64)
    # Explicit partitions, not a partition key: Milvus 2.3.5 misroutes upserts into partition-key
    # collections (measured: 100 rows per source upserted, 1–5 found by a filter).
    schema.add_field("source", DataType.VARCHAR, max_length=16)
    schema.add_field("year", DataType.INT32)
    schema.add_field(
        "drugs",
        DataType.ARRAY,
        element_type=DataType.VARCHAR,
        max_capacity=MAX_DRUGS,
        max_length=MAX_DRUG_CHARS,
    )
    schema.add_field(VECTOR, DataType.FLOAT_VECTOR, dim=dim)
    return schema


def _row_drugs(directory: Path, n: int) -> list[list[str]]:
    data = json.loads((directory / "drugs.json").read_text())
    # {"records": {key: rows}, "names": …} (the lexicon's shape), or the older flat {key: rows}
    records: dict[str, list[int]] = data.get("records", data)
    out: list[list[str]] = [[] for _ in range(n)]
    for key, rows in records.items():
        if len(key) > MAX_DRUG_CHARS:
            continue  # long multi-ingredient names; their shorter keys are there too
        for r in rows:
            if len(out[r]) < MAX_DRUGS:
                out[r].append(key)
    return out


def wait_indexed(client: Any, collection: str, rows: int, timeout_s: float) -> None:
    """Block until Milvus reports every row indexed (or raise): never serve a half-built index."""
    deadline = time.monotonic() + timeout_s
    while True:
        info = client.describe_index(collection, VECTOR)
        indexed = int(info.get("indexed_rows", rows))
        pending = int(info.get("pending_index_rows", 0))
        if indexed >= rows and pending == 0:
            return
        if time.monotonic() > deadline:
            raise MilvusUnavailable(
                f"Milvus indexed {indexed} of {rows} rows of {collection!r} within {timeout_s:.0f}s; "
                "the collection is not served — retry 'curbside index build --store milvus'"
            )
        time.sleep(0.5)


def reload(client: Any, collection: str, timeout_s: float) -> None:
    """Release and load again once indexed. ``create_collection`` with index parameters loads at once, so
    rows arrive as growing segments searched through Milvus's interim index; a Milvus 2.3.5 server keeps
    serving those (measured: recall@10 0.90 against exact) until the loaded segments are swapped for the
    indexed ones. Loading afresh serves the built index from the first query."""
    client.release_collection(collection, timeout=timeout_s)
    client.load_collection(collection, timeout=timeout_s)


def publish(
    settings: Settings,
    directory: Path | None = None,
    *,
    progress: bool = True,
    index_timeout_s: float = 600.0,
    log: Callable[[str], None] = print,
) -> str:
    """Upsert the built index in ``directory`` (default index/current) into a fresh Milvus collection and
    switch the served alias to it once it is complete. Returns the collection's name."""
    from app.index.builder import current_dir

    directory = directory or current_dir(settings)
    manifest = read_manifest(directory)
    s = settings.index
    client = connect(resolve_uri(settings), s.milvus_timeout_s)
    vectors = np.load(directory / "vectors.f16.npy", mmap_mode="r")
    years = np.load(directory / "years.npy")
    drugs = _row_drugs(directory, manifest.passages)
    source = np.empty(manifest.passages, dtype=object)
    local = np.empty(manifest.passages, dtype=np.int64)
    for st in SOURCE_TYPES:
        rows = np.load(directory / f"rows-{st}.npy")
        source[rows] = st
        local[rows] = np.arange(len(rows))
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
    name = f"{s.milvus_collection}_{manifest.passages_sha256[:12]}_{stamp}"
    client.create_collection(
        name,
        schema=_schema(client, manifest.dim),
        index_params=index_params(client, s),
        consistency_level="Strong",
    )
    try:
        for st in SOURCE_TYPES:
            client.create_partition(name, st)
        bar = tqdm(total=manifest.passages, desc="milvus upsert", unit="row", disable=not progress)
        for start in range(0, manifest.passages, s.milvus_batch):
            stop = min(start + s.milvus_batch, manifest.passages)
            block = np.asarray(vectors[start:stop], dtype=np.float32)
            for st in SOURCE_TYPES:
                rows = [r for r in range(start, stop) if source[r] == st]
                if not rows:
                    continue
                client.upsert(
                    name,
                    [
                        {
                            "row": r,
                            "local": int(local[r]),
                            "source": st,
                            "year": int(years[r]),
                            "drugs": drugs[r],
                            VECTOR: block[r - start].tolist(),
                        }
                        for r in rows
                    ],
                    partition_name=st,
                    timeout=s.milvus_timeout_s * 6,
                )
            bar.update(stop - start)
        bar.close()
        client.flush(name, timeout=index_timeout_s)
        wait_indexed(client, name, manifest.passages, index_timeout_s)
        reload(client, name, index_timeout_s)
        count = _row_count(client, name)
        if count != manifest.passages:
            raise MilvusUnavailable(f"{name!r} holds {count} rows, the index {manifest.passages}; not served")
        _point_alias(client, s.milvus_collection, name)
    except BaseException:
        client.drop_collection(name)
        raise
    for old in client.list_collections():
        if old != name and old.startswith(f"{s.milvus_collection}_"):
            client.drop_collection(old)
    log(f"milvus: {manifest.passages:,} rows in {name!r}, served as {s.milvus_collection!r}")
    return name


def _row_count(client: Any, collection: str) -> int:
    result = client.query(collection, filter="", output_fields=["count(*)"])
    return int(result[0]["count(*)"])


def served_collection(client: Any, alias: str) -> str | None:
    """The build collection behind ``alias`` (named ``<alias>_<passages sha256[:12]>_<stamp>``), or None."""
    for name in client.list_collections():
        if name.startswith(f"{alias}_") and alias in client.list_aliases(name).get("aliases", []):
            return str(name)
    return None


def _point_alias(client: Any, alias: str, collection: str) -> None:
    if served_collection(client, alias) is None:
        client.create_alias(collection, alias)
    else:
        client.alter_alias(collection, alias)


def open_sections(settings: Settings, manifest: Manifest) -> dict[SourceType, MilvusStore]:
    """Per-section stores over the served collection, after checking it matches ``manifest``."""
    s = settings.index
    uri = resolve_uri(settings)
    client = connect(uri, s.milvus_timeout_s)
    try:
        target = served_collection(client, s.milvus_collection)
        if target is None:
            raise LookupError("no alias")
        client.load_collection(target, timeout=s.milvus_timeout_s)
        count = _row_count(client, target)
    except Exception as exc:
        raise IndexMismatch(
            f"Milvus at {uri} serves no collection {s.milvus_collection!r} ({_reason(exc)}); "
            "run 'curbside index build --store milvus'"
        ) from exc
    built_from = target.removeprefix(f"{s.milvus_collection}_").split("_")[0]
    if built_from != manifest.passages_sha256[:12] or count != manifest.passages:
        raise IndexMismatch(
            f"Milvus collection {s.milvus_collection!r} at {uri} is {target!r} ({count} rows), another build "
            f"than the local index ({manifest.passages_sha256[:12]}…, {manifest.passages} rows); "
            "run 'curbside index build --store milvus'"
        )
    return {
        st: MilvusStore(client, s.milvus_collection, st, manifest.counts.get(st, 0), s) for st in SOURCE_TYPES
    }
