"""Name normalisation shared by duplicate detection, imports and the demo data.

`company_name_key` is what makes companies unique per country: "Müller GmbH & Co. KG",
"MULLER gmbh" and "Müller" all have the key "muller".
"""

from __future__ import annotations

import re
import unicodedata

# Letters that NFKD does not decompose into a base letter and a mark.
_SPECIAL_LETTERS = str.maketrans({
    "ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "ł": "l", "Ł": "l",
    "đ": "d", "Đ": "d", "ð": "d", "Ð": "d", "þ": "th", "Þ": "th", "ı": "i", "ß": "ss",
})
_DELETED = re.compile(r"[.'’`´]")
_SEPARATORS = re.compile(r"[\W_]+")

# Legal forms, as normalised token sequences, dropped from the end of a name (repeatedly:
# "GmbH & Co. KG" drops "kg", then "and co", then "gmbh").
LEGAL_SUFFIXES: tuple[tuple[str, ...], ...] = tuple(
    tuple(phrase.split())
    for phrase in sorted(
        {
            # English-speaking countries
            "ltd", "limited", "inc", "incorporated", "llc", "llp", "lp", "plc", "co",
            "corp", "corporation", "company", "and co", "pty", "pty ltd", "pte", "pvt",
            "private limited", "dac",
            # German-speaking countries
            "gmbh", "ag", "kg", "kgaa", "ohg", "ug", "se", "ev", "and co kg",
            # French, Italian, Spanish, Portuguese
            "sa", "sas", "sasu", "sarl", "snc", "eurl", "and cie", "cie", "spa", "srl",
            "sl", "slu", "ltda", "lda", "eireli", "sa de cv", "sab de cv", "s de rl de cv",
            "de cv", "sab", "sae", "ltee",
            # Benelux, Nordics, Central and Eastern Europe, Turkey
            "bv", "nv", "vof", "bvba", "sprl", "cv", "commv", "ab", "oy", "oyj", "as", "asa",
            "aps", "a s", "sro", "kft", "zrt", "nyrt", "sp z oo", "spj", "sti", "ltd sti",
            # Asia and the Middle East
            "kk", "gk", "fze", "fzco", "fz llc",
        },
        key=lambda p: (-len(p.split()), p),
    )
)

_SUFFIXES_BY_LAST_TOKEN: dict[str, tuple[tuple[str, ...], ...]] = {}
for _phrase in LEGAL_SUFFIXES:  # longest phrases first
    _SUFFIXES_BY_LAST_TOKEN[_phrase[-1]] = (*_SUFFIXES_BY_LAST_TOKEN.get(_phrase[-1], ()), _phrase)


def ascii_fold(text: str) -> str:
    """`text` without accents: "Łódź Müller-Søren" -> "Lodz Muller-Soren" (case kept)."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text.translate(_SPECIAL_LETTERS))
    if decomposed.isascii():
        return decomposed
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def company_name_key(name: str) -> str:
    """The normalised company name used for matching and uniqueness (with the country).

    Lower case, no accents, no punctuation, single spaces, "&" read as "and", and trailing
    legal forms (GmbH, Ltd, Inc., S.A., Sp. z o.o., ...) dropped. Letters of other scripts
    are kept, so a name written in Chinese keeps a meaningful key.
    """
    text = ascii_fold(name or "").casefold().replace("&", " and ")
    text = _DELETED.sub("", text)
    tokens = _SEPARATORS.sub(" ", text).split()
    while len(tokens) > 1:
        for phrase in _SUFFIXES_BY_LAST_TOKEN.get(tokens[-1], ()):
            if len(tokens) > len(phrase) and tuple(tokens[-len(phrase):]) == phrase:
                del tokens[-len(phrase):]
                break
        else:
            break
    return " ".join(tokens)
