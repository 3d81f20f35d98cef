"""The select stage with the shipped relevance model: a research passage must speak of what is asked."""

from __future__ import annotations

from app.answer.question import analyse_question
from app.answer.relevance import RelevanceModel
from app.answer.select import Selector
from app.corpus.chunker import split_sentences
from app.schema import Hit, Passage, Span
from app.settings import AnswerSettings


def _hit(pid: str, text: str, rank: int) -> Hit:
    spans = [Span(start=s.start, end=s.end) for s in split_sentences(text)]
    passage = Passage(
        id=pid, record_id=pid.split("#", maxsplit=1)[0], text=text, source_type="research", sentences=spans
    )
    return Hit(
        passage=passage, score=1.0 / (1 + rank), cosine=0.6 - 0.05 * rank, dense_score=0.6 - 0.05 * rank
    )


METABOLITES = _hit(
    "pmid:1#0",
    "Dihydroxyphenylacetic acid, tocopherols and serotonin were common metabolites in responders to "
    "sertraline. Metabolomics may inform the biochemical basis for the early efficacy of sertraline.",
    0,
)
TOLERABILITY = _hit(
    "pmid:2#0",
    "Sertraline was well tolerated. The most common adverse events with sertraline were nausea, "
    "diarrhoea and insomnia, reported by 26%, 18% and 16% of patients.",
    1,
)


def test_a_side_effect_question_is_not_answered_by_an_abstract_that_never_speaks_of_harms() -> None:
    selector = Selector(AnswerSettings(), RelevanceModel.load())
    q = analyse_question("What are the common side effects of sertraline?", drugs=["sertraline"])
    scored = dict(
        (h.passage.id, p) for p, h in selector.scored("research", q, [METABOLITES, TOLERABILITY], {})
    )
    assert scored["pmid:1#0"] == 0.0
    assert scored["pmid:2#0"] > 0.0
    chosen = selector.select("research", q, [METABOLITES, TOLERABILITY], {})
    assert [h.passage.id for h in chosen] in ([], ["pmid:2#0"])


def test_a_question_without_such_an_intent_keeps_the_models_score() -> None:
    selector = Selector(AnswerSettings(), RelevanceModel.load())
    q = analyse_question("What metabolites predict response to sertraline?", drugs=["sertraline"])
    scored = [p for p, _h in selector.scored("research", q, [METABOLITES], {})]
    assert scored[0] > 0.0
