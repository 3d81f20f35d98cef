"""The citation guard: every composed answer passes through it, whatever produced it.

- a citation to anything that was not retrieved is removed (dangling);
- a statement without a remaining citation is removed;
- each statement is checked against what it cites (``grounding.check``); unsupported statements are
  dropped (default) or kept and flagged;
- a citation that supports nothing on its own and is not needed by the others is removed (ALCE's
  "irrelevant" citation);
- the supporting span of each citation is located and quoted with its offsets;
- references are renumbered in order of first use; unused ones are dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from app.answer.draft import Draft, DraftSection, DraftStatement
from app.answer.entailment import Precision, grounded_by_entailment
from app.answer.grounding import Grounding, check, content_terms
from app.schema import (
    SECTION_TITLES,
    GuardCounts,
    Passage,
    Quote,
    Reference,
    Section,
    Statement,
)


@dataclass(frozen=True)
class GuardPolicy:
    mode: str = "drop"  # "drop" unsupported statements, "flag" them, or "nli": drop what is not entailed
    min_overlap: float = 0.6
    nli_precision: Precision = "auto"  # the entailment model's arithmetic in nli mode


def locate_quote(statement: str, passage: Passage) -> Quote:
    """The sentence (or two adjacent sentences) of ``passage`` that best covers ``statement``."""
    spans = passage.sentences or []
    if not spans:
        return Quote(text=passage.text, start=0, end=len(passage.text))
    terms = set(content_terms(statement))
    sent_terms = [set(content_terms(passage.text[s.start : s.end])) for s in spans]
    cover = [len(terms & t) / (len(terms) or 1) for t in sent_terms]
    best_i = max(range(len(spans)), key=lambda i: (cover[i], -i))
    best_j, best = best_i, cover[best_i]
    for i in range(len(spans) - 1):
        pair = len(terms & (sent_terms[i] | sent_terms[i + 1])) / (len(terms) or 1)
        if pair > best + 0.15:  # widen to two sentences only when the second adds real support
            best_i, best_j, best = i, i + 1, pair
    start, end = spans[best_i].start, spans[best_j].end
    return Quote(text=passage.text[start:end], start=start, end=end)


class Guard:
    """Checks a draft section by section (so answers can stream), numbering references across sections."""

    def __init__(
        self,
        evidence: Mapping[str, Passage],
        *,
        find_drugs: Callable[[str], list[str]] | None = None,
        policy: GuardPolicy | None = None,
        abstain_messages: Mapping[str, str] | None = None,
    ) -> None:
        self.evidence = evidence
        self.find_drugs = find_drugs or (lambda _t: [])
        self.policy = policy or GuardPolicy()
        self.messages = abstain_messages or {}
        self.counts = GuardCounts()
        self.numbers: dict[str, int] = {}
        self.quotes: dict[str, list[Quote]] = {}
        self._cited_by_draft: set[str] = set()

    def section(self, dsec: DraftSection) -> Section:
        kept: list[Statement] = []
        for st in dsec.statements:
            self.counts.statements_in += 1
            self._cited_by_draft.update(k for k in st.keys if k in self.evidence)
            checked = _check_statement(st, self.evidence, self.find_drugs(st.text), self.policy, self.counts)
            if checked is None:
                continue
            text, keys, supported = checked
            refs = []
            for key in keys:
                if key not in self.numbers:
                    self.numbers[key] = len(self.numbers) + 1
                quote = locate_quote(text, self.evidence[key])
                if quote not in self.quotes.setdefault(key, []):
                    self.quotes[key].append(quote)
                refs.append(self.numbers[key])
            kept.append(Statement(text=text, citations=refs, supported=supported, context=st.context))
        self.counts.statements_out += len(kept)
        message = dsec.message
        abstained = dsec.abstained or not any(not s.context for s in kept)
        if abstained and not message:
            message = self.messages.get(dsec.key) or "The sources found do not answer this question."
        return Section(
            key=dsec.key,
            title=SECTION_TITLES[dsec.key],
            statements=kept,
            abstained=abstained,
            message=message,
        )

    def references(self) -> list[Reference]:
        """References in order of first use; passages cited only by removed statements are dropped."""
        self.counts.references_unused_dropped = len(self._cited_by_draft - set(self.numbers))
        return [
            Reference.from_passage(n, self.evidence[key], self.quotes[key][0]).model_copy(
                update={"quotes": self.quotes[key]}
            )
            for key, n in sorted(self.numbers.items(), key=lambda kv: kv[1])
        ]


def guard(
    draft: Draft,
    evidence: Mapping[str, Passage],
    *,
    find_drugs: Callable[[str], list[str]] | None = None,
    policy: GuardPolicy | None = None,
    abstain_messages: Mapping[str, str] | None = None,
) -> tuple[list[Section], list[Reference], GuardCounts]:
    """Check a whole ``draft`` against the retrieved ``evidence`` (passage id → passage)."""
    g = Guard(evidence, find_drugs=find_drugs, policy=policy, abstain_messages=abstain_messages)
    sections = [g.section(d) for d in draft.sections]
    return sections, g.references(), g.counts


def _check_statement(
    st: DraftStatement,
    evidence: Mapping[str, Passage],
    drugs: list[str],
    policy: GuardPolicy,
    counts: GuardCounts,
) -> tuple[str, list[str], bool] | None:
    keys = list(dict.fromkeys(st.keys))
    valid = [k for k in keys if k in evidence]
    counts.dangling_citations_removed += len(keys) - len(valid)
    if not valid:
        counts.uncited_statements_removed += 1
        return None
    text = st.text.strip()

    def ground(cited: list[Passage]) -> Grounding:
        """Lexical grounding on the stored sentences, or in ``nli`` mode the entailment model (after the
        same exact checks of numbers, drugs and negations; app/answer/entailment.py)."""
        if policy.mode == "nli":
            return grounded_by_entailment(
                text,
                [p.text for p in cited],
                drug_names=drugs,
                min_overlap=policy.min_overlap,
                precision=policy.nli_precision,
            )
        return check(text, cited, drug_names=drugs, min_overlap=policy.min_overlap)

    joint = ground([evidence[k] for k in valid])
    if not joint.supported:
        if policy.mode == "flag":
            counts.unsupported_statements_flagged += 1
            return text, valid, False
        counts.unsupported_statements_removed += 1
        return None
    # ALCE precision: drop a citation that does not support the statement alone when the rest still do.
    kept = list(valid)
    if len(kept) > 1:
        for key in list(kept):
            alone = ground([evidence[key]])
            if alone.supported:
                continue
            rest = [k for k in kept if k != key]
            if rest and ground([evidence[k] for k in rest]).supported:
                kept.remove(key)
                counts.unsupported_citations_removed += 1
    return text, kept, True
