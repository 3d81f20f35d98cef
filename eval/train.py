"""`curbside train relevance|judge`: the models Curbside ships (or would ship), trained reproducibly here.

- ``relevance``: the select stage's evidence-relevance model (eval/train_relevance.py → app/models/relevance);
- ``judge``: the entailment judge (eval/judges/train_nli.py → app/models/entailment; shipped only
  when it beats the lexical judge on held-out HealthVer and K-QA).
Everything after the model's name goes to its trainer's own options (``--help`` lists them).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help") or args[0] not in ("relevance", "judge"):
        print(__doc__)
        return 0 if args and args[0] in ("-h", "--help") else 2
    name, rest = args[0], args[1:]
    if name == "relevance":
        from eval.train_relevance import main as train_relevance

        return train_relevance(rest)
    from eval.judges.train_nli import main as train_judge

    return int(train_judge(rest) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
