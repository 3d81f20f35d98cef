"""What a question is about: its drugs (resolved to label keys, misspellings corrected), the terms the index
has never seen, drug classes, and the rarest content phrase (its topic).

    focus = find_focus(question, index.lexicon, index.lexical.doc_freq)
    focus.drugs      # ["concerta", "lexapro"]        label keys, in question order
    focus.unknown    # ["trelavoxin"]                  no passage of any kind mentions these
    focus.no_label   # ["rosuvastatin"]                drug-like, mentioned in passages, but no label here
    unknown_message(focus, messages)                   the abstain sentence naming the unknown term

``mentions_drug(text_or_passage, key, lexicon)`` says whether a statement (or passage) names the asked drug
under any of its names (generic ↔ brand, salt forms), so a section can reject another drug's text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein
from wordfreq import top_n_list

from app.answer.question import INTENT_STEMS, UNIT_WORD
from app.index.drugs import _DRUG_STEMS, _SALTS, FUNCTION_WORDS, DrugLexicon, english_zipf, tokens
from app.index.lexical import analyze
from app.schema import Hit, Passage

DocFreq = Callable[[str], int]
"""Number of passages (of every source type) whose text holds an index term (a stem from ``analyze``)."""

# A question word at most this common in English, that no passage holds, is a candidate unknown term or a
# misspelling ("trelavoxin", "fluvaastatin"); more common words ("sourdough" 2.8, "guitar" 4.5) are not.
RARE_ZIPF = 3.0
MIN_FUZZY_LEN = 5
SALT_FUZZY_RATIO = 80.0  # rapidfuzz ratio (normalised Indel similarity): "dipropionage" ~ "dipropionate" 92
ENGLISH_VOCAB = 200_000  # English words a misspelt non-drug word is corrected to ("hyptotension")
MIN_UNKNOWN_LEN = 5

# International names the US labels use another name for: the question's word → the label key.
ALIASES: dict[str, str] = {
    "paracetamol": "acetaminophen",
    "salbutamol": "albuterol",
    "adrenaline": "epinephrine",
    "noradrenaline": "norepinephrine",
    "frusemide": "furosemide",
    "lignocaine": "lidocaine",
    "glibenclamide": "glyburide",
    "pethidine": "meperidine",
    "aciclovir": "acyclovir",
    "amoxycillin": "amoxicillin",
    "ciclosporin": "cyclosporine",
}

# How a label names a drug's class where it does not name the drug ("Non-Steroidal Anti-Inflammatory Agents"
# in lisinopril's Drug Interactions, for "Can I take ibuprofen with lisinopril?"): the class's member stems
# (USAN suffixes) or names → the stem sets a sentence naming the class holds (one set whole is enough).
_NSAID = ("nsaid", "nonsteroid", "non steroid anti inflammatori")
_CLASS_OF_MEMBER: tuple[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...] = (
    # (suffixes, names, markers)
    (("profen", "fenac", "coxib", "oxicam"),
     ("naproxen", "aspirin", "indomethacin", "ketorolac", "etodolac", "nabumetone", "sulindac", "diflunisal"),
     _NSAID),
    (("pril",), (), ("ace inhibitor", "angiotensin convert")),
    (("sartan",), (), ("angiotensin receptor blocker", "arb")),
    (("vastatin",), (), ("statin", "hmg coa")),
    (("olol",), (), ("beta blocker", "beta adrenerg block")),
    (("prazole",), (), ("proton pump", "ppi")),
    (("floxacin",), (), ("fluoroquinolon", "quinolon")),
    (("azepam", "azolam"), (), ("benzodiazepin",)),
    (("xaban", "gatran"), ("warfarin", "heparin"), ("anticoagul",)),
    ((), ("sertraline", "fluoxetine", "paroxetine", "citalopram", "escitalopram", "fluvoxamine"),
     ("ssri", "serotonin reuptak")),
)  # fmt: skip


def class_markers(drug_key: str) -> list[frozenset[str]]:
    """The stem sets that name ``drug_key``'s class in a label sentence ("nsaid" for ibuprofen); none when the
    drug is of no class listed here."""
    word = drug_key.lower()
    return [
        frozenset(marker.split())
        for suffixes, names, markers in _CLASS_OF_MEMBER
        if word in names or word.endswith(suffixes)
        for marker in markers
    ]


# Drug classes whose members share a USAN stem: the class word → the stem. Members are the lexicon's keys
# that end in it. Classes without a shared stem (SSRIs, antipsychotics) are not resolved: the corpus does
# not carry the labels' established pharmacologic class.
CLASS_STEMS: dict[str, tuple[str, ...]] = {
    "statin": ("vastatin",),  # not "nystatin"
    "ace inhibitor": ("pril",),
    "angiotensin receptor blocker": ("sartan",),
    "arb": ("sartan",),
    "beta blocker": ("olol",),
    "beta-blocker": ("olol",),
    "sglt2 inhibitor": ("gliflozin",),
    "dpp-4 inhibitor": ("gliptin",),
    "glp-1 agonist": ("glutide",),
    "glp-1 receptor agonist": ("glutide",),
    "proton pump inhibitor": ("prazole",),
    "ppi": ("prazole",),
    "triptan": ("triptan",),
    "fluoroquinolone": ("floxacin",),
    "benzodiazepine": ("azepam", "azolam"),
    "factor xa inhibitor": ("xaban",),
    "dihydropyridine": ("dipine",),
}

# Names that end in a class stem without being of the class: aripiprazole is an antipsychotic, teduglutide
# a GLP-2 analogue.
NOT_IN_CLASS: tuple[str, ...] = ("piprazole", "teduglutide")


_READ_WORD = re.compile(r"[A-Za-z0-9]+(?:[-'][A-Za-z0-9]+)*")  # a word as ``tokens`` reads it


def _replace_words(text: str, words: Mapping[str, str]) -> str:
    """``text`` with each word (as ``tokens`` reads it, lower-cased) found in ``words`` replaced by it."""
    if not words:
        return text
    return _READ_WORD.sub(lambda m: words.get(m.group(0).lower(), m.group(0)), text)


@dataclass(frozen=True)
class FocusEntities:
    """The entities of one question. Every list is in question order, without repeats."""

    drugs: list[str] = field(default_factory=list)
    written: dict[str, str] = field(default_factory=dict)  # drug key → how the question wrote it
    corrected: dict[str, str] = field(default_factory=dict)  # misspelt word → what it was read as
    no_label: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    classes: dict[str, list[str]] = field(default_factory=dict)  # "statins" → member drug keys
    terms: list[str] = field(default_factory=list)  # other content words, rarest first
    topic: str = ""  # the drugs, else the content phrase around the rarest known term

    def read_as(self, text: str) -> str:
        """``text`` with each misspelt word as the focus reading read it ("calciun" → calcium, "whate" →
        what), so a question's intent and terms are read from what was meant."""
        return _replace_words(text, self.corrected)

    def search_text(self, text: str, doc_freq: DocFreq) -> str:
        """``text`` as the passages are searched for it: a drug's name misspelt so that no passage holds it
        ("motoprolol") read as the drug, which retrieval would otherwise not find by its words; every other
        word as written — an international name the passages use too ("paracetamol", "salbutamol"), and a
        word a correction may misread ("CGRPs" is not "corps")."""
        drug_words = {part for d in self.drugs for part in d.split()}
        fixes = {w: c for w, c in self.corrected.items() if c in drug_words and _unseen(w, doc_freq)}
        return _replace_words(text, fixes)

    @property
    def single_drug(self) -> str | None:
        return self.drugs[0] if len(self.drugs) == 1 else None

    @property
    def unknown_subject(self) -> bool:
        """The question is about a term no passage mentions and names no drug or class the index knows:
        every section should abstain with ``unknown_message`` rather than quote other drugs' text."""
        return bool(self.unknown) and not self.drugs and not self.classes


def find_focus(question: str, lexicon: DrugLexicon, doc_freq: DocFreq) -> FocusEntities:
    """The focus entities of ``question`` (see the module docstring)."""
    words = tokens(question)
    corrected: dict[str, str] = {}
    read: list[str] = []
    for w in words:
        fixed = _correct(w, lexicon, doc_freq)
        if fixed is not None and fixed != w:
            corrected[w] = fixed
        read.append(fixed or w)
    drugs = lexicon.detect(" ".join(read))
    drug_words = {p for d in drugs for p in d.split()}
    written = {d: _as_written(d, words, read) for d in drugs}
    unknown: list[str] = []
    for w in words:
        if w in corrected or w in drug_words or not _content(w) or len(w) < MIN_UNKNOWN_LEN or _salt_part(w):
            continue
        if _unseen(w, doc_freq) and (english_zipf(w) < RARE_ZIPF or _drug_like(w)) and w not in unknown:
            unknown.append(w)
    no_label = [
        w
        for w in dict.fromkeys(lexicon.unknown_drugs(" ".join(read)))
        if w not in unknown and w not in drug_words
    ]
    classes = _classes(question, lexicon)
    skip = drug_words | set(unknown) | set(corrected) | set(no_label)
    terms = _terms(words, skip, doc_freq)
    # A question about an unknown term has no topic the index knows.
    topic = " and ".join(written[d] for d in drugs) if drugs else ("" if unknown else _topic(words, doc_freq))
    return FocusEntities(drugs, written, corrected, no_label, unknown, classes, terms, topic)


def warm_up(lexicon: DrugLexicon) -> None:
    """Load the English word list and the lexicon's one-word keys now (about half a second), so the first
    question with a misspelt word does not pay for it. Call once when the index is loaded."""
    _english()
    _single_keys(lexicon)


def unknown_message(focus: FocusEntities, messages: Mapping[str, str]) -> str | None:
    """The abstain sentence naming the unknown terms (the ``unknown_term`` entry of prompts/abstain.md)."""
    if not focus.unknown:
        return None
    names = _join(focus.unknown)
    return messages["unknown_term"].format(term=names)


def mentions_drug(text_or_passage: str | Passage, drug_key: str, lexicon: DrugLexicon) -> bool:
    """True when the text names ``drug_key`` under any of its names (generic, brand, salt or hyphenated
    form). A passage also counts when it is a label passage of that drug (its drug/brand fields)."""
    names = lexicon.synonyms(drug_key)
    if isinstance(text_or_passage, Passage):
        p = text_or_passage
        if p.source_type == "fda_label":
            from app.index.drugs import drug_keys

            if (drug_keys(p.drug) | drug_keys(p.brand)) & names:
                return True
        text = p.text
    else:
        text = text_or_passage
    toks = [part for w in tokens(text) for part in (w, *w.split("-")) if part]
    joined = f" {' '.join(toks)} "
    return any(f" {name} " in joined for name in names)


def about_drugs(
    hits: Sequence[Hit],
    drugs: Sequence[str],
    lexicon: DrugLexicon,
    record_text: Callable[[str], str] | None = None,
) -> list[Hit]:
    """The hits that name every one of ``drugs``. With ``record_text`` (a record's whole text), a chunk also
    counts when its record names them: an abstract names its drugs once and then abbreviates them
    ("indacaterol (IND)/glycopyrronium (GLY) … IND/GLY showed an improvement")."""
    named: dict[str, bool] = {}

    def names_all(h: Hit) -> bool:
        if all(mentions_drug(h.passage, d, lexicon) for d in drugs):
            return True
        if record_text is None:
            return False
        rid = h.passage.record_id
        if rid not in named:
            text = record_text(rid)
            named[rid] = all(mentions_drug(text, d, lexicon) for d in drugs)
        return named[rid]

    return [h for h in hits if names_all(h)]


# -- helpers ------------------------------------------------------------------------------------------------


def _content(word: str) -> bool:
    return (
        len(word) >= 4
        and word.replace("-", "").isalpha()
        and word not in FUNCTION_WORDS
        and bool(analyze(word))
        and not all(s in INTENT_STEMS for s in analyze(word))
        and not UNIT_WORD.match(word)
    )


def _unseen(word: str, doc_freq: DocFreq) -> bool:
    stems = analyze(word.replace("-", " "))
    return bool(stems) and all(doc_freq(s) == 0 for s in stems)


def _salt_part(word: str) -> bool:
    """An abbreviated salt or form word ("succ", "tart")."""
    return any(s.startswith(word) for s in _SALTS if len(s) > len(word))


def _drug_like(word: str) -> bool:
    return len(word) >= 6 and word.endswith(_DRUG_STEMS)


# Words of a question's frame that a hurried writer mistypes or runs into the next word ("whate is",
# "afibwhat are"): read as these, they are not a subject no passage mentions.
QUESTION_WORDS = frozenset(
    [
        "what",
        "which",
        "when",
        "where",
        "whom",
        "whose",
        "does",
        "should",
        "would",
        "could",
        "can",
        "will",
        "how",
        "why",
        "is",
        "are",
        "was",
        "the",
        "for",
        "and",
        "with",
        "about",
        "from",
    ]
)
MIN_RUN_TOGETHER_PART = 3
# A swapped-letters frame word ("teh") is read as one when at most this many passages have the same typo.
TYPO_DF = 2
TYPO_ZIPF = 3.5  # and when it is no common English word ("form" is not "from" mistyped); "teh" is 3.0


def _frame_word(word: str, lexicon: DrugLexicon, doc_freq: DocFreq) -> str | None:
    """What a word of the question's frame was meant as: a question word with two letters swapped ("teh" →
    the; a rare word, not a common one), or, for a word no passage holds, a question word one letter off
    ("whate" → what) or a known term run together with one ("afibwhat" → afib, "whatis" → what). None
    otherwise."""
    if not word.isalpha() or lexicon.is_key(word):
        return None
    # Two letters swapped ("teh", "adn", "waht"): a frame word mistyped, not a subject, even when a passage or
    # two has the same typo; a common word stays itself ("form" is not "from").
    swaps = [w for w in QUESTION_WORDS if _swapped(word, w)]
    if (
        len(swaps) == 1
        and english_zipf(word) < TYPO_ZIPF
        and all(doc_freq(s) <= TYPO_DF for s in analyze(word))
    ):
        return swaps[0]
    if not _unseen(word, doc_freq):
        return None
    if len(word) <= 6:
        near = [w for w in QUESTION_WORDS if len(w) >= 4 and Levenshtein.distance(word, w) == 1]
        if len(near) == 1:
            return near[0]
    for i in range(MIN_RUN_TOGETHER_PART, len(word) - MIN_RUN_TOGETHER_PART + 1):
        head, tail = word[:i], word[i:]
        for frame, rest in ((head, tail), (tail, head)):
            if frame in QUESTION_WORDS and (lexicon.is_key(rest) or not _unseen(rest, doc_freq)):
                return rest
        if head in QUESTION_WORDS and tail in QUESTION_WORDS:
            return head
    return None


def _swapped(word: str, frame: str) -> bool:
    """``word`` is ``frame`` with two neighbouring letters swapped."""
    if len(word) != len(frame) or word == frame:
        return False
    diff = [i for i, (a, b) in enumerate(zip(word, frame, strict=True)) if a != b]
    return (
        len(diff) == 2
        and diff[1] == diff[0] + 1
        and word[diff[0]] == frame[diff[1]]
        and word[diff[1]] == frame[diff[0]]
    )


def _correct(word: str, lexicon: DrugLexicon, doc_freq: DocFreq) -> str | None:
    """A drug key (or an everyday word) for a misspelt word no passage holds; None when it is not one."""
    alias = ALIASES.get(word)
    if alias is not None and alias != word and lexicon.is_key(alias):
        return alias
    if len(word) > MIN_FUZZY_LEN and word.endswith("s") and lexicon.is_key(word[:-1]):
        return word[:-1]  # "percocets"
    frame = _frame_word(word, lexicon, doc_freq)
    if frame is not None:
        return frame
    if (
        len(word) < MIN_FUZZY_LEN
        or not word.isalpha()
        or lexicon.is_key(word)
        or english_zipf(word) >= RARE_ZIPF
        or not _unseen(word, doc_freq)
    ):
        return None
    fixed = _drug_spelling(word, _single_keys(lexicon))
    if fixed is not None:
        return fixed
    salt = process.extractOne(word, sorted(_SALTS), scorer=fuzz.ratio, score_cutoff=SALT_FUZZY_RATIO)
    if salt is not None:
        return str(salt[0])  # "dipropionage"
    if len(word) >= MIN_FUZZY_LEN:
        limit = 1 if len(word) < 10 else 2
        near = process.extractOne(word, _english(), scorer=Levenshtein.distance, score_cutoff=limit)
        if near is not None and not _unseen(str(near[0]), doc_freq):
            return str(near[0])
    return None


_SINGLE_KEYS: list[tuple[DrugLexicon, list[str]]] = []


def _drug_spelling(word: str, keys: list[str]) -> str | None:
    """The one drug key ``word`` is a misspelling of: a typo (Levenshtein distance 1, or 2 from eight
    letters on) or letters left out ("metopol" → metoprolol: the word is in order inside the key, at least
    70% of it, same first three letters). None when no key, or more than one, is that close: an unknown drug
    must never be read as a known one ("zorbitamide" is not zonisamide)."""
    same_start = [k for k in keys if k[0] == word[0]]
    limit = 1 if len(word) < 8 else 2
    near = process.extract(word, same_start, scorer=Levenshtein.distance, score_cutoff=limit, limit=3)
    if near:
        best = min(d for _, d, _ in near)
        at_best = [str(k) for k, d, _ in near if d == best]
        return at_best[0] if len(at_best) == 1 else None
    shortened = [
        k for k in same_start if k[:3] == word[:3] and len(word) >= 0.7 * len(k) and _in_order(word, k)
    ]
    return shortened[0] if len(shortened) == 1 else None


def _in_order(word: str, key: str) -> bool:
    letters = iter(key)
    return all(ch in letters for ch in word)


def _single_keys(lexicon: DrugLexicon) -> list[str]:
    """The lexicon's one-word keys (memoised for the last lexicon seen: an index's is immutable)."""
    if not _SINGLE_KEYS or _SINGLE_KEYS[0][0] is not lexicon:
        keys = sorted(k for k in lexicon.records if " " not in k and k.isalpha() and lexicon.is_key(k))
        _SINGLE_KEYS[:] = [(lexicon, keys)]
    return _SINGLE_KEYS[0][1]


_ENGLISH: list[list[str]] = []


def _english() -> list[str]:
    if not _ENGLISH:
        _ENGLISH.append([w for w in top_n_list("en", ENGLISH_VOCAB) if w.isalpha() and len(w) >= 5])
    return _ENGLISH[0]


def _as_written(key: str, words: list[str], read: list[str]) -> str:
    """The question's own words for ``key`` (its brand, as spelt), else the key."""
    n = len(key.split())
    for i in range(len(read) - n + 1):
        if " ".join(read[i : i + n]) == key:
            return " ".join(read[i : i + n])
    return key


def _classes(question: str, lexicon: DrugLexicon) -> dict[str, list[str]]:
    lowered = question.lower()
    out: dict[str, list[str]] = {}
    for name, stems in CLASS_STEMS.items():
        m = re.search(rf"\b{re.escape(name)}s?\b", lowered)
        if m is None:
            continue
        members = [k for k in _single_keys(lexicon) if k.endswith(stems) and not k.endswith(NOT_IN_CLASS)]
        if members:
            out[m.group(0)] = members
    return out


def _terms(words: list[str], skip: set[str], doc_freq: DocFreq) -> list[str]:
    seen = [w for w in dict.fromkeys(words) if w not in skip and _content(w)]
    return sorted(seen, key=lambda w: min((doc_freq(s) for s in analyze(w)), default=0))


TOPIC_BREAK_ZIPF = 5.2  # "during", "have", "after": everyday words end a topic phrase


def _topic(words: list[str], doc_freq: DocFreq) -> str:
    """The run of content words (digits allowed inside: "type 2 diabetes") holding the rarest known term;
    hyphenated qualifiers ("first-line") and everyday words end a run."""
    runs: list[list[str]] = [[]]
    for i, w in enumerate(words):
        numbered = i + 1 < len(words) and words[i + 1].isdigit()  # "type 2", "stage 3"
        if (w.isdigit() and runs[-1]) or (
            _content(w) and "-" not in w and (numbered or english_zipf(w) < TOPIC_BREAK_ZIPF)
        ):
            runs[-1].append(w)
        else:
            runs.append([])
    best, best_df = "", None
    for run in runs:
        while run and run[-1].isdigit():
            run.pop()
        if not run:
            continue
        dfs = [doc_freq(s) for w in run if not w.isdigit() for s in analyze(w)]
        df = min((d for d in dfs if d > 0), default=None)
        if df is not None and (best_df is None or df < best_df):
            best, best_df = " ".join(run), df
    return best


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]
