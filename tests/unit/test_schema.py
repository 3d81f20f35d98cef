"""Answer.to_markdown: what the CLI prints and the API's Markdown view."""

from app.schema import Answer, Quote, Reference
from tests.answers import answer_quoting


def _answer(quote: str) -> Answer:
    ref = Reference(
        number=1,
        passage_id="guideline:apa#0",
        record_id="guideline:apa",
        source_type="guideline",
        label="APA guideline",
        quote=Quote(text=quote, start=0, end=len(quote)),
    )
    return answer_quoting(ref, "guidelines")


def test_a_quote_with_line_breaks_stays_inside_its_reference() -> None:
    # A guideline table's row is quoted verbatim with the blank line after its caption; printed raw, the
    # blank line ended the blockquote and the row fell out of the numbered reference list.
    quote = "Key findings:\n\nNaltrexone + medical management — Outcome (% days abstinent): 80.6%"
    answer = _answer(quote)
    lines = answer.to_markdown().splitlines()
    i = lines.index("1. APA guideline")
    assert (
        lines[i + 1]
        == '   > "Key findings: Naltrexone + medical management — Outcome (% days abstinent): 80.6%"'
    )
    assert "- Key findings: Naltrexone + medical management — Outcome (% days abstinent): 80.6% [1]" in lines
    assert answer.references[0].quote.text == quote  # the JSON keeps the verbatim span
