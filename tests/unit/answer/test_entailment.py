"""The entailment model's pieces: windows, the verdict over windows, the manifest check, the guard's nli
mode (exact checks first, verbatim quotes without the model, then the model's verdict)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from app.answer import entailment
from app.answer.entailment import (
    MODEL_DIR,
    EntailmentModelError,
    Verdict,
    closest,
    decide,
    grounded_by_entailment,
    verify,
    windows,
)
from app.index.cache import file_sha256

LABEL = (
    "The recommended dose is 50 mg once daily. Take it with food. Do not use it in patients with acute "
    "hepatitis. Hepatocellular injury has been reported with excessive doses. Monitor liver tests monthly."
)


def test_windows_keep_whole_sentences_and_overlap_by_one() -> None:
    out = windows([LABEL], words=16)
    assert out[0] == "The recommended dose is 50 mg once daily. Take it with food."
    assert out[1] == "Take it with food. Do not use it in patients with acute hepatitis."  # shares one
    assert all(len(w.split()) <= 16 or w.count(". ") == 0 for w in out)
    assert all(sentence.strip(". ") in " ".join(out) for sentence in LABEL.split(". "))
    assert windows(["", "  "]) == []
    assert windows(["One long sentence " * 30]) == ["One long sentence " * 29 + "One long sentence"]


def test_closest_ranks_windows_by_shared_terms() -> None:
    ws = windows([LABEL], words=12)
    assert "hepatitis" in closest("Avoid it in acute hepatitis", ws, 1)[0]


def test_decide_prefers_support_then_contradict() -> None:
    s = {"support": 0.7, "neutral": 0.2, "contradict": 0.1}
    n = {"support": 0.1, "neutral": 0.8, "contradict": 0.1}
    c = {"support": 0.1, "neutral": 0.2, "contradict": 0.7}
    assert decide([("a", n), ("b", s), ("c", c)]).label == "support"
    assert decide([("a", n), ("c", c)]) == Verdict("contradict", 0.1, c, "c")
    v = decide([("a", n), ("b", {"support": 0.3, "neutral": 0.6, "contradict": 0.1})])
    assert v.label == "neutral"
    assert v.window == "b"


def test_a_tampered_model_file_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(b"abc")
    digest = file_sha256(folder / "weights.bin")
    (folder / "manifest.json").write_text(json.dumps({"files": {"weights.bin": digest}}))
    assert verify(folder)["files"]["weights.bin"] == digest
    (folder / "weights.bin").write_bytes(b"abd")
    with pytest.raises(EntailmentModelError, match="sha256"):
        verify(folder)
    with pytest.raises(EntailmentModelError, match="manifest"):
        verify(tmp_path / "absent")


def _no_model(statement: str, passages: object) -> Verdict:
    raise AssertionError("the model must not be asked")


def test_nli_mode_checks_numbers_drugs_and_negation_exactly_before_the_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(entailment, "entails", _no_model)
    assert not grounded_by_entailment("The recommended dose is 100 mg once daily.", [LABEL]).supported
    assert not grounded_by_entailment("The dose is 50 mcg once daily.", [LABEL]).supported
    assert not grounded_by_entailment(
        "Naltrexone dose is 50 mg once daily.", [LABEL], drug_names=["naltrexone"]
    ).supported
    assert not grounded_by_entailment("Use it in patients with acute hepatitis.", [LABEL]).supported
    verbatim = grounded_by_entailment("Take it with food.", [LABEL])
    assert verbatim.supported
    assert verbatim.reason == "verbatim quote"


def test_nli_mode_follows_the_models_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    probs = {"support": 0.1, "neutral": 0.1, "contradict": 0.8}
    monkeypatch.setattr(
        entailment, "entails", lambda s, p, _precision="auto": Verdict("contradict", 0.1, probs, p[0])
    )
    g = grounded_by_entailment("Liver tests are checked every month.", [LABEL])
    assert not g.supported
    assert "contradict" in g.reason
    probs = {"support": 0.9, "neutral": 0.05, "contradict": 0.05}
    monkeypatch.setattr(
        entailment, "entails", lambda s, p, _precision="auto": Verdict("support", 0.9, probs, p[0])
    )
    assert grounded_by_entailment("Liver tests are checked every month.", [LABEL]).supported


shipped = pytest.mark.skipif(not (MODEL_DIR / "manifest.json").exists(), reason="no shipped entailment model")


@shipped
def test_the_shipped_model_matches_its_manifest_and_is_small() -> None:
    manifest = verify(MODEL_DIR)
    assert (MODEL_DIR / "model.safetensors").stat().st_size <= 50 * 2**20
    assert set(manifest["labels"].values()) == {"support", "neutral", "contradict"}


@shipped
def test_a_copied_model_with_a_changed_weight_file_does_not_load(tmp_path: Path) -> None:
    copy = tmp_path / "entailment"
    shutil.copytree(MODEL_DIR, copy)
    with (copy / "config.json").open("a") as fh:
        fh.write(" ")
    with pytest.raises(EntailmentModelError):
        entailment.EntailmentModel(copy)


def test_a_statement_said_word_for_word_is_verbatim() -> None:
    text = "Patients should be treated with  the lowest effective dose. Review the need regularly."
    assert entailment.is_verbatim("patients should be treated with the lowest effective dose.", text)
    assert not entailment.is_verbatim("Patients should be treated with the highest effective dose.", text)


def test_long_statements_get_shorter_windows_so_the_pair_fits_the_model() -> None:
    short = " ".join(["word"] * 12)
    long = " ".join(["word"] * 60)
    assert entailment.window_words(short) == entailment.WINDOW_WORDS
    assert entailment.MIN_WINDOW_WORDS <= entailment.window_words(long) < entailment.WINDOW_WORDS


@shipped
def test_length_sorted_batches_give_each_pair_its_own_score_in_input_order() -> None:
    model = entailment.EntailmentModel()
    text = "Metformin is contraindicated in patients with severe renal impairment (eGFR below 30)."
    pairs = [
        (
            text + " " + "It is taken with meals to reduce gastrointestinal side effects." * 3,
            "Take it with meals.",
        ),
        (text, "Metformin is contraindicated in severe renal impairment."),
        (text, "Metformin is safe in severe renal impairment."),
    ]
    together = model.score(pairs, batch=2)
    alone = [model.score([p])[0] for p in pairs]
    for got, want in zip(together, alone, strict=True):
        assert got.keys() == want.keys()
        assert all(abs(got[k] - want[k]) < 1e-3 for k in got)
    assert max(together[1], key=together[1].__getitem__) == "support"
    assert together[2]["support"] < together[1]["support"]


@shipped
def test_bfloat16_and_float32_arithmetic_give_the_same_labels() -> None:
    text = "Metformin is contraindicated in patients with severe renal impairment (eGFR below 30)."
    pairs = [
        (text, "Metformin is contraindicated in severe renal impairment."),
        (text, "Metformin is recommended in severe renal impairment."),
        (text, "Metformin causes weight gain."),
    ]
    exact = entailment.EntailmentModel(precision="float32")
    fast = entailment.EntailmentModel(precision="bfloat16")
    assert exact.precision == "float32"
    assert fast.precision == "bfloat16"
    for a, b in zip(exact.score(pairs), fast.score(pairs), strict=True):
        assert max(a, key=a.__getitem__) == max(b, key=b.__getitem__)
        assert all(abs(a[k] - b[k]) < 0.05 for k in a)
