"""The three judges on a few labelled pairs, and the agreement figures they are measured with."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from app.llm.base import Completion, LLMError, Message
from app.settings import ROOT, Settings
from eval.judges import JudgeError, make_judge
from eval.judges.calibration import agreement, calibrate, load_sets, split_of
from eval.judges.lexical import LexicalJudge, LexicalParams
from eval.judges.llm import LLMJudge, parse_verdict
from eval.settings import EvalSettings

LABEL = (
    "Naltrexone hydrochloride is contraindicated in patients receiving opioid analgesics. "
    "The recommended dose of naltrexone hydrochloride is 50 mg once daily."
)


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("Naltrexone is contraindicated in patients receiving opioid analgesics.", "support"),
        ("The recommended dose of naltrexone is 50 mg once daily.", "support"),
        ("The recommended dose of naltrexone is 100 mg once daily.", "contradict"),
        ("Naltrexone is not contraindicated in patients receiving opioid analgesics.", "contradict"),
        ("Naltrexone causes severe hair loss in most children.", "neutral"),
    ],
)
def test_lexical_judge_on_labelled_pairs(statement: str, expected: str) -> None:
    assert LexicalJudge().support(statement, [LABEL]).label == expected


def test_lexical_judge_with_the_guards_threshold_is_stricter() -> None:
    paraphrase = "Patients on opioid painkillers must not take naltrexone hydrochloride tablets."
    strict = LexicalJudge(LexicalParams(min_overlap=0.9)).support(paraphrase, [LABEL])
    assert not strict.supported
    assert "overlap" in strict.reason


def test_lexical_judge_checks_drug_names_with_the_lexicon() -> None:
    judge = LexicalJudge(find_drugs=lambda text: [d for d in ("warfarin", "naltrexone") if d in text.lower()])
    verdict = judge.support("Warfarin is contraindicated in patients receiving opioid analgesics.", [LABEL])
    assert not verdict.supported
    assert "warfarin" in verdict.reason


def test_lexical_judge_reads_covid_19_as_a_name_not_a_number() -> None:
    v = LexicalJudge().support(
        "COVID-19 patients had raised IL-6", ["patients with covid-19 had raised IL-6 levels"]
    )
    assert v.supported


# -- NLI ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_nli(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised 2-layer BERT classifier with a tiny vocabulary, saved like a downloaded model;
    its bias makes class 0 ("entailment") win, whatever the input."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    folder = tmp_path_factory.mktemp("tiny-nli")
    words = [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        "the",
        "dose",
        "is",
        "mg",
        "50",
        "100",
        "naltrexone",
        "not",
        "contraindicated",
        "in",
        "patients",
        "opioid",
        "a",
        "of",
        "once",
        "daily",
    ]
    (folder / "vocab.txt").write_text("\n".join(words) + "\n")
    BertTokenizer(str(folder / "vocab.txt")).save_pretrained(str(folder))
    config = BertConfig(
        vocab_size=len(words),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        id2label={0: "entailment", 1: "neutral", 2: "contradiction"},
        label2id={"entailment": 0, "neutral": 1, "contradiction": 2},
    )
    torch.manual_seed(0)
    model = BertForSequenceClassification(config)
    with torch.no_grad():
        model.classifier.bias.copy_(torch.tensor([20.0, 0.0, 0.0]))
    model.save_pretrained(str(folder))
    return folder


def test_nli_judge_loads_a_local_folder_and_maps_its_labels(tiny_nli: Path) -> None:
    cfg = EvalSettings(nli={"model_dir": tiny_nli, "max_length": 32})
    judge = make_judge("nli", cfg, Settings())
    v = judge.support("the dose is 50 mg once daily", ["naltrexone : the dose is 50 mg once daily"] * 10)
    assert v.label == "support"
    assert v.score > 0.99
    assert judge.describe()["labels"]["0"] == "entailment→support"


def test_nli_judge_label_map_from_the_settings_overrides_the_defaults(tiny_nli: Path) -> None:
    cfg = EvalSettings(
        nli={"model_dir": tiny_nli, "label_map": {"entailment": "contradict", "contradiction": "support"}}
    )
    v = make_judge("nli", cfg, Settings()).support("the dose is 100 mg", ["the dose is 50 mg"])
    assert v.label == "contradict"


def test_nli_judge_says_what_to_set_when_labels_are_unknown(tiny_nli: Path, tmp_path: Path) -> None:
    import json
    import shutil

    odd = tmp_path / "odd"
    shutil.copytree(tiny_nli, odd)
    config = json.loads((odd / "config.json").read_text())
    config["id2label"] = {"0": "LABEL_0", "1": "LABEL_1", "2": "LABEL_2"}
    config["label2id"] = {"LABEL_0": 0, "LABEL_1": 1, "LABEL_2": 2}
    (odd / "config.json").write_text(json.dumps(config))
    with pytest.raises(JudgeError, match="CURBSIDE_EVAL__NLI__LABEL_MAP"):
        make_judge("nli", EvalSettings(nli={"model_dir": odd}), Settings())
    mapped = EvalSettings(
        nli={
            "model_dir": odd,
            "label_map": {"LABEL_0": "support", "LABEL_1": "neutral", "LABEL_2": "contradict"},
        }
    )
    assert make_judge("nli", mapped, Settings()).support("dose", ["dose"]).label == "support"


def test_nli_judge_with_a_missing_model_folder_says_how_to_set_one(tmp_path: Path) -> None:
    with pytest.raises(JudgeError, match="CURBSIDE_EVAL__NLI__MODEL_DIR"):
        make_judge("nli", EvalSettings(nli={"model_dir": tmp_path / "absent"}), Settings())


# -- LLM ---------------------------------------------------------------------------------------------------


class ScriptedLLM:
    name = "scripted"
    model = "script-1"

    def __init__(self, answers: Sequence[str | LLMError]) -> None:
        self.answers = list(answers)
        self.prompts: list[str] = []

    def complete(
        self, messages: Sequence[Message], *, max_tokens: int | None = None, temperature: float | None = None
    ) -> Completion:
        self.prompts.append(messages[-1].content)
        answer = self.answers.pop(0)
        if isinstance(answer, LLMError):
            raise answer
        return Completion(answer, self.model, 10, 5, "stop", 0.01)

    def stream(self, messages: Sequence[Message], **kw: object) -> Iterator[str]:
        yield ""

    def health(self) -> bool:
        return True

    def close(self) -> None:
        pass


def test_llm_judge_reads_yes_no_contradict_and_counts_what_it_could_not_use() -> None:
    llm = ScriptedLLM(
        [
            "YES - the label states the dose.",
            "CONTRADICT - the label says 50 mg.",
            "No: not mentioned",
            "I think maybe",
            LLMError("timeout"),
        ]
    )
    judge = LLMJudge(llm, ROOT / "prompts")
    labels = [judge.support("The dose is 50 mg.", [LABEL]).label for _ in range(5)]
    assert labels == ["support", "contradict", "neutral", "neutral", "neutral"]
    d = judge.describe()
    assert (d["unparsed"], d["errors"], d["calls"]) == (1, 1, 5)
    assert d["prompt"].startswith("judge_support v")
    assert "STATEMENT: The dose is 50 mg." in llm.prompts[0]
    assert LABEL in llm.prompts[0]


def test_llm_judge_verdict_parsing() -> None:
    assert parse_verdict("\n  yes — stated in [1]") == ("support", "stated in [1]")
    assert parse_verdict("Contradicted: different dose") == ("contradict", "different dose")
    assert parse_verdict("NO") == ("neutral", "(no reason given)")
    assert parse_verdict("The passages say") is None


def test_llm_judge_needs_a_backend() -> None:
    with pytest.raises(JudgeError, match="--llm"):
        make_judge("llm", EvalSettings(), Settings())


# -- agreement figures and calibration ---------------------------------------------------------------------


def test_agreement_figures_on_a_known_confusion() -> None:
    a = agreement(
        ["support", "support", "neutral", "neutral"],
        ["support", "neutral", "neutral", "neutral"],
        ("support", "neutral", "contradict"),
    )
    assert a["accuracy"] == 0.75
    assert a["balanced_accuracy"] == 0.75
    assert a["kappa"] == 0.5  # po 0.75, pe 0.5
    assert a["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 2, abs=1e-4)
    assert a["confusion"] == [[1, 1, 0], [0, 2, 0], [0, 0, 0]]


def test_splits_are_stable_and_both_sides_are_used() -> None:
    assert split_of("healthver", "3") == split_of("healthver", "3")
    sets = load_sets(["kqa_nli"])
    pairs, _ = sets["kqa_nli"]
    assert {p.split for p in pairs} == {"tune", "holdout"}
    assert {p.gold for p in pairs} == {"support", "neutral", "contradict"}


def test_expertqa_mapping_leaves_out_claims_without_evidence_text() -> None:
    pairs, left_out = load_sets(["expertqa"])["expertqa"]
    assert left_out["no evidence text"] > 0
    assert all(p.passages and all(p.passages) for p in pairs)
    assert {p.gold for p in pairs} == {"support", "neutral"}
    assert not any("[1]" in p.statement for p in pairs)


def test_calibrate_reports_every_set_and_split() -> None:
    report = calibrate(LexicalJudge(), limit=40)
    assert set(report["sets"]) == {"healthver", "kqa_nli", "expertqa", "covidfact"}
    for entry in report["sets"].values():
        assert entry["pairs"] == 40
        assert entry["tune"]["three_way"]["n"] + entry["holdout"]["three_way"]["n"] == 40
        assert len(entry["sha256"]) == 64
    assert set(report["headline"]["kqa_nli"]) >= {"balanced_accuracy", "kappa", "macro_f1"}
