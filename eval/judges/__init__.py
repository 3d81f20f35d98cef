"""Judges: "do these passages support this statement?" — one protocol, a backend per file, a registry line.

``make_judge("lexical" | "nli" | "llm", ...)`` builds the configured one.
"""

from __future__ import annotations

from collections.abc import Callable

from app.llm.base import LLMClient
from app.settings import Settings
from eval.judges.base import LABELS, CachedJudge, Judge, JudgeError, Label, Verdict
from eval.settings import EvalSettings, JudgeName


def _lexical(
    cfg: EvalSettings,
    settings: Settings,
    llm: LLMClient | None,
    find_drugs: Callable[[str], list[str]] | None,
) -> Judge:
    from eval.judges.lexical import LexicalJudge, LexicalParams

    p = cfg.lexical
    params = LexicalParams(
        min_overlap=p.min_overlap,
        contradict_overlap=p.contradict_overlap,
        detect_contradictions=p.detect_contradictions,
        join_identifiers=p.join_identifiers,
    )
    return LexicalJudge(params, find_drugs=find_drugs if p.use_drug_lexicon else None)


def _nli(
    cfg: EvalSettings,
    settings: Settings,
    llm: LLMClient | None,
    find_drugs: Callable[[str], list[str]] | None,
) -> Judge:
    from eval.judges.nli import EntailmentJudge, NLIJudge

    model_dir = cfg.nli.model_dir.expanduser() if cfg.nli.model_dir is not None else None
    if model_dir is None or (model_dir / "manifest.json").exists():
        return EntailmentJudge(
            model_dir, threads=cfg.nli.threads, precision=cfg.nli.precision
        )  # the shipped model by default
    return NLIJudge(
        model_dir,
        label_map=cfg.nli.label_map,
        max_length=cfg.nli.max_length,
        threads=cfg.nli.threads,
    )


def _llm(
    cfg: EvalSettings,
    settings: Settings,
    llm: LLMClient | None,
    find_drugs: Callable[[str], list[str]] | None,
) -> Judge:
    from eval.judges.llm import LLMJudge

    if llm is None:
        raise JudgeError(
            "the llm judge needs an LLM backend: pass --llm local|openai or set CURBSIDE_LLM__BACKEND"
        )
    return LLMJudge(
        llm,
        settings.paths.prompts_dir,
        max_tokens=cfg.llm_judge.max_tokens,
        max_passage_chars=cfg.llm_judge.max_passage_chars,
    )


JudgeFactory = Callable[[EvalSettings, Settings, LLMClient | None, Callable[[str], list[str]] | None], Judge]
JUDGES: dict[str, JudgeFactory] = {"lexical": _lexical, "nli": _nli, "llm": _llm}


def make_judge(
    name: JudgeName | str,
    cfg: EvalSettings,
    settings: Settings,
    *,
    llm: LLMClient | None = None,
    find_drugs: Callable[[str], list[str]] | None = None,
) -> Judge:
    try:
        factory = JUDGES[name]
    except KeyError:
        raise JudgeError(f"unknown judge {name!r}; choose one of {', '.join(JUDGES)}") from None
    return factory(cfg, settings, llm, find_drugs)


__all__ = ["JUDGES", "LABELS", "CachedJudge", "Judge", "JudgeError", "Label", "Verdict", "make_judge"]
