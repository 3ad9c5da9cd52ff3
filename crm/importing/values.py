"""Column-wise readers for imported values: each takes a whole column (a Series of text) and
returns the normalised values and, for the cells it could not read, a message per cell.

Working on columns, not cells, keeps a 100,000-row file to a few vectorised passes; the few
values that need a closer look (non-ASCII emails, spelled-out dates) are looked at one by one.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
import pycountry
from babel import Locale
from email_validator import EmailNotValidError, validate_email

from crm.common.names import ascii_fold

_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = f"{_LOCAL}@(?:{_LABEL}\\.)+[A-Za-z]{{2,63}}"
_PHONE = r"[0-9+()./\-\s]*(?:(?:ext\.?|x|#)\s*\d+)?"
_SCIENTIFIC = r"[0-9](?:[.,][0-9]+)?[eE]\+?[0-9]+"


@dataclass
class Column:
    """Normalised values of one column and the messages for cells that could not be read."""

    values: pd.Series
    problems: pd.Series  # message per row, None where the cell is fine


def _no_problems(index: pd.Index) -> pd.Series:
    return pd.Series(None, index=index, dtype=object)


def emails(text: pd.Series) -> Column:
    """Valid addresses with the domain in lower case; blank stays blank (None)."""
    problems = _no_problems(text.index)
    filled = text != ""
    plain = text.str.fullmatch(_EMAIL) & filled
    local = text.str.rsplit("@", n=1).str[0]
    domain = text.str.rsplit("@", n=1).str[-1].str.lower()
    values = (local + "@" + domain).where(plain, None)
    for position in np.flatnonzero((filled & ~plain).to_numpy()):
        raw = text.iloc[position]
        try:
            values.iloc[position] = validate_email(raw, check_deliverability=False).normalized
        except EmailNotValidError as problem:
            problems.iloc[position] = f"“{raw}” is not a valid email address ({problem})"
    return Column(values.where(filled, None), problems)


_ADDRESS_NOISE = re.compile(r"[<>;,\s]|mailto:", re.IGNORECASE)
_IN_ANGLES = re.compile(r"<\s*(?:mailto:)?([^<>\s]+@[^<>\s]+?)\s*>", re.IGNORECASE)
_BARE = re.compile(r"(?:mailto:)?([^<>;,\s\"']+@[^<>;,\s\"']+)", re.IGNORECASE)


def split_addresses(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Email cells as people fill them: "Anna Müller <anna@example.de>", "mailto:x@y.com",
    "<x@y.com>", "a@x.com; b@x.com". Returns the first address of each cell (the cell as it
    is when it holds none, so it is reported) and the second one ("" when there is none)."""
    first, second = text.copy(), pd.Series("", index=text.index, dtype=object)
    noisy = text.str.contains(_ADDRESS_NOISE) & text.str.contains("@", regex=False)
    for position in np.flatnonzero(noisy.to_numpy()):
        raw = text.iloc[position]
        found = [*_IN_ANGLES.findall(raw), *_BARE.findall(_IN_ANGLES.sub(" ", raw))]
        if found:
            first.iloc[position] = found[0]
            second.iloc[position] = found[1] if len(found) > 1 else ""
    return first, second


def phones(text: pd.Series) -> Column:
    problems = _no_problems(text.index)
    filled = text != ""
    digits = text.str.count(r"[0-9]")
    good = text.str.fullmatch(_PHONE, flags=re.IGNORECASE) & (digits >= 5)
    scientific = text.str.fullmatch(_SCIENTIFIC)
    problems[filled & scientific] = (
        "the phone number was stored as a number and shown in scientific notation, so its "
        "digits are lost; format the column as text in the spreadsheet and type it again")
    problems[filled & ~good & ~scientific] = (
        "“" + text + "” is not a phone number (digits, spaces, + ( ) - . /)")
    return Column(text.where(filled, None), problems)


_YES = {"yes", "y", "true", "t", "1", "x", "✓", "✔", "☑", "ja", "j", "oui", "o", "si", "sí",
        "vero", "waar", "wahr", "vrai", "on", "checked", "subscribed", "opted in", "opt in",
        "+", "1.0", "yes please", "da", "marketing contact", "granted", "consented",
        "abonniert", "angemeldet", "subscribed, not mailed yet", "receiving newsletters"}
# A "no" of a consent column: never subscribed, unsubscribed, bounced ("cleaned"), or not
# confirmed yet ("pending") all mean "do not send".
_NO = {"no", "n", "false", "f", "0", "ja nein", "nein", "non", "falsch", "faux", "falso",
       "nee", "niet", "off", "unchecked", "unsubscribed", "opted out", "opt out", "-", "0.0",
       "✗", "✘", "☐", "nicht", "non-marketing contact", "non marketing contact",
       "not subscribed", "non-subscribed", "never subscribed", "cleaned", "pending",
       "revoked", "withdrawn", "denied", "abgemeldet", "blacklisted", "no consent",
       "not opted in", "unknown"}


def flags(text: pd.Series) -> Column:
    """yes/no in any usual spelling and language; blank stays blank (None: the default)."""
    folded = text.str.strip().str.lower()
    values = pd.Series(pd.NA, index=text.index, dtype="boolean")
    values[folded.isin(_YES)] = True
    values[folded.isin(_NO)] = False
    problems = _no_problems(text.index)
    unknown = (folded != "") & values.isna()
    problems[unknown] = "“" + text + "” is not yes or no (yes/no, y/n, true/false, 1/0, x)"
    return Column(values, problems)


# Words that say the status itself, whichever way the column asks: in an opt-out column,
# "Unsubscribed" is still "not subscribed" (a plain "no" there would mean "did not opt out").
_STATUS_OUT = {"unsubscribed", "opted out", "opt out", "do not allow", "do not send",
               "blacklisted", "cleaned", "non-marketing contact", "non marketing contact",
               "not subscribed", "non-subscribed", "never subscribed", "revoked", "withdrawn",
               "denied", "abgemeldet", "pending"}
_STATUS_IN = {"subscribed", "opted in", "opt in", "allow", "marketing contact", "granted",
              "consented", "abonniert", "angemeldet"}


def opt_outs(text: pd.Series) -> Column:
    """An opt-out column, as newsletter consent: yes (or the date the person opted out, or a
    status such as "Unsubscribed") is "not subscribed" (False); no says nothing (None: the
    default applies); anything else is a problem, so an unreadable opt-out never lets a row
    through as subscribed."""
    folded = text.str.strip().str.lower()
    out = flags(text).values.copy()  # yes: opted out
    out[folded.isin(_STATUS_OUT)] = True
    out[folded.isin(_STATUS_IN)] = False
    out[_dated(text) & out.isna()] = True
    consent = pd.Series(pd.NA, index=text.index, dtype="boolean")
    consent[out.eq(True).fillna(False)] = False
    problems = _no_problems(text.index)
    problems[(folded != "") & out.isna()] = (
        "“" + text + "” does not say whether the person opted out (yes/no, or the date they "
        "did)")
    return Column(consent, problems)


def _dated(text: pd.Series) -> pd.Series:
    """Cells that hold a date or a time stamp (an opt-out's date)."""
    return text.str.strip().str.match(r"^(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}"
                                      r"[-/.]\d{2,4})")


# ----------------------------------------------------------------------------- dates

_ISO = r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?\S*)?$"
_DMY = (r"^(\d{1,2})[-/.]\s?(\d{1,2})[-/.]\s?(\d{4}|\d{2})"
        r"(?:,?\s+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([AaPp])\.?[Mm]\.?)?)?$")
_SERIAL = r"^\d{4,5}(?:\.\d+)?$"
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")


@dataclass
class DateColumn(Column):
    ambiguous: bool  # day/month order cannot be told from the values and was not chosen
    dayfirst: bool | None  # the order used for a/b/yyyy dates (None: there were none)


def dates(text: pd.Series, dayfirst: bool | None) -> DateColumn:
    """ISO dates, d/m/y or m/d/y (the order judged over the whole column), Excel serial
    numbers, and spelled-out dates ("1 March 2024")."""
    values = pd.Series(pd.NaT, index=text.index, dtype="datetime64[s]")
    filled = text != ""
    iso = text.str.extract(_ISO).astype(float)
    values = values.fillna(_assemble(iso[0], iso[1], iso[2], iso[3], iso[4], iso[5]))
    parts = text.str.extract(_DMY)
    noon = parts[6].str.lower()  # "10:00 AM" (Dynamics, Outlook in the US): a 12-hour clock
    parts = parts.drop(columns=6).astype(float)
    parts[3] = (parts[3] % 12).where(noon.isna() | (noon == "a"), parts[3] % 12 + 12).where(
        noon.notna(), parts[3])
    is_dmy = parts[0].notna()
    first, second = parts[0][is_dmy], parts[1][is_dmy]
    days_first = bool((first > 12).any())
    months_first = bool((second > 12).any())
    ambiguous = False
    if days_first != months_first:
        order = days_first
    elif dayfirst is not None:
        order = dayfirst
    else:
        order = True
        ambiguous = bool(is_dmy.any()) and not days_first and bool((first != second).any())
    year = parts[2].where(parts[2] >= 100, 2000 + parts[2].where(parts[2] < 70, parts[2] - 100))
    day, month = (parts[0], parts[1]) if order else (parts[1], parts[0])
    values = values.fillna(_assemble(year, month, day, parts[3], parts[4], parts[5]))
    serial = text.str.fullmatch(_SERIAL) & values.isna()
    if serial.any():
        number = pd.to_numeric(text.where(serial), errors="coerce")
        plausible = (number >= 1) & (number < 2_958_466)
        stamps = (_EXCEL_EPOCH + pd.to_timedelta(number.where(plausible), unit="D")).dt.floor("s")
        values = values.fillna(stamps.astype("datetime64[s]"))
    rest = filled & values.isna() & ~is_dmy
    for position in np.flatnonzero(rest.to_numpy()):
        parsed = pd.to_datetime(text.iloc[position], errors="coerce", dayfirst=order)
        if not pd.isna(parsed):
            values.iloc[position] = parsed.tz_localize(None) if parsed.tzinfo else parsed
    problems = _no_problems(text.index)
    problems[filled & values.isna()] = "“" + text + "” is not a date that can be read"
    return DateColumn(values, problems, ambiguous, order if is_dmy.any() else None)


def _assemble(year, month, day, hour, minute, second) -> pd.Series:
    frame = pd.DataFrame({"year": year, "month": month, "day": day,
                          "hour": hour.fillna(0), "minute": minute.fillna(0),
                          "second": second.fillna(0)})
    ok = frame["year"].notna() & frame["month"].between(1, 12) & frame["day"].between(1, 31)
    result = pd.Series(pd.NaT, index=year.index, dtype="datetime64[s]")
    if ok.any():
        result[ok] = pd.to_datetime(frame[ok], errors="coerce").astype("datetime64[s]")
    return result


# ------------------------------------------------------------------------- countries

# Names people write that are not in the ISO list (folded: lower case, no accents).
COUNTRY_VARIANTS = {
    "uk": "GB", "u k": "GB", "england": "GB", "scotland": "GB", "wales": "GB",
    "northern ireland": "GB", "great britain": "GB", "britain": "GB", "gb": "GB",
    "united kingdom": "GB", "grossbritannien": "GB", "royaume uni": "GB", "reino unido": "GB",
    "regno unito": "GB", "verenigd koninkrijk": "GB", "engeland": "GB", "angleterre": "GB",
    "usa": "US", "u s a": "US", "us": "US", "u s": "US", "america": "US",
    "united states of america": "US", "vereinigte staaten": "US", "etats unis": "US",
    "estados unidos": "US", "stati uniti": "US", "verenigde staten": "US", "amerika": "US",
    "deutschland": "DE", "germany": "DE", "allemagne": "DE", "alemania": "DE",
    "germania": "DE", "duitsland": "DE", "brd": "DE",
    "holland": "NL", "the netherlands": "NL", "nederland": "NL", "niederlande": "NL",
    "pays bas": "NL", "paises bajos": "NL", "paesi bassi": "NL",
    "osterreich": "AT", "oesterreich": "AT", "autriche": "AT", "austria": "AT",
    "oostenrijk": "AT", "schweiz": "CH", "suisse": "CH", "svizzera": "CH", "suiza": "CH",
    "zwitserland": "CH", "switzerland": "CH", "frankreich": "FR", "francia": "FR",
    "frankrijk": "FR", "espana": "ES", "spanien": "ES", "espagne": "ES", "spagna": "ES",
    "spanje": "ES", "italia": "IT", "italien": "IT", "italie": "IT", "italie ": "IT",
    "belgique": "BE", "belgie": "BE", "belgien": "BE", "belgica": "BE", "belgio": "BE",
    "luxemburg": "LU", "polska": "PL", "polen": "PL", "pologne": "PL", "polonia": "PL",
    "sverige": "SE", "schweden": "SE", "suede": "SE", "norge": "NO", "norwegen": "NO",
    "danmark": "DK", "danemark": "DK", "dinamarca": "DK", "suomi": "FI", "finnland": "FI",
    "ceska republika": "CZ", "czech republic": "CZ", "tschechien": "CZ", "czechia": "CZ",
    "magyarorszag": "HU", "ungarn": "HU", "portugal": "PT", "brasil": "BR", "brasilien": "BR",
    "mexiko": "MX", "turkei": "TR", "turkiye": "TR", "turkey": "TR", "russland": "RU",
    "russia": "RU", "russie": "RU", "rusia": "RU", "south korea": "KR", "korea": "KR",
    "republic of korea": "KR", "north korea": "KP", "uae": "AE", "u a e": "AE",
    "emirates": "AE", "ivory coast": "CI", "vietnam": "VN", "iran": "IR", "syria": "SY",
    "laos": "LA", "bolivia": "BO", "venezuela": "VE", "tanzania": "TZ", "taiwan": "TW",
    "moldova": "MD", "macedonia": "MK", "china": "CN", "volksrepublik china": "CN",
    "japan": "JP", "japon": "JP", "giappone": "JP", "irland": "IE", "eire": "IE",
    "griechenland": "GR", "grece": "GR", "grecia": "GR", "hellas": "GR",
    "kroatien": "HR", "hrvatska": "HR", "slowakei": "SK", "slovensko": "SK",
    "slowenien": "SI", "slovenija": "SI", "rumanien": "RO", "romania": "RO",
    "bulgarien": "BG", "indien": "IN", "inde": "IN", "kanada": "CA", "australien": "AU",
    "neuseeland": "NZ", "sudafrika": "ZA", "south africa": "ZA", "agypten": "EG",
    "vatican": "VA", "holy see": "VA", "palestine": "PS", "kosovo": "XK",
}


CLDR_LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pt", "pl", "cs", "sk", "sv", "da", "nb",
                  "nn", "fi", "hu", "ro", "el", "tr", "ru", "uk", "bg", "hr", "sl", "sr", "lt",
                  "lv", "et", "ga", "is", "mt", "sq", "mk", "bs", "ca", "eu", "gl", "cy", "lb",
                  "ja", "zh", "ko", "ar", "he", "hi", "id", "ms", "vi", "th", "fa", "ur", "bn")


@lru_cache(maxsize=1)
def _common_spellings() -> tuple[dict[str, str], dict[str, str]]:
    """(folded English names, ISO codes and the usual variants -> code, code -> display name):
    what nearly every file holds, ready in milliseconds."""
    lookup: dict[str, str] = {}
    names: dict[str, str] = {}
    for country in pycountry.countries:
        code = country.alpha_2
        names[code] = getattr(country, "common_name", None) or country.name
        for spelling in (code, country.alpha_3, country.name,
                         getattr(country, "official_name", None),
                         getattr(country, "common_name", None)):
            if spelling:
                lookup.setdefault(fold_country(spelling), code)
    for spelling, code in COUNTRY_VARIANTS.items():
        lookup.setdefault(spelling.strip(), code)
    return lookup, names


@lru_cache(maxsize=1)
def country_lookup() -> tuple[dict[str, str], dict[str, str]]:
    """(folded spelling -> ISO alpha-2 code, code -> display name): the common spellings,
    then every country's name in the major European and world languages from CLDR (Babel):
    "Česko", "Tschechien", "République tchèque", "Чехия", "チェコ", … A common spelling wins
    where two meet. Building it reads 52 locales (about half a second), so `countries` asks
    for it only when a file holds a spelling the common ones miss."""
    common, names = _common_spellings()
    lookup = dict(common)
    for language in CLDR_LANGUAGES:
        for code, name in Locale.parse(language).territories.items():
            if code in names:
                lookup.setdefault(fold_country(name), code)
    return lookup, names


def country_names() -> dict[str, str]:
    """ISO alpha-2 code -> the country's English display name."""
    return _common_spellings()[1]


def fold_country(text: str) -> str:
    folded = ascii_fold(str(text)).casefold().replace("&", " and ")
    folded = re.sub(r"[\W_]+", " ", folded).strip()  # letters of every script stay
    return folded.removeprefix("the ") if folded.startswith("the ") and len(folded) > 4 \
        else folded


def closest_countries(text: str, limit: int = 3) -> list[str]:
    _, names = _common_spellings()
    # Suggested from English names and the usual variants only: with every language's
    # spellings, "Germny" would also suggest Hungary (Swedish "Ungern").
    known = {**{fold_country(n): c for c, n in names.items()},
             **{k.strip(): c for k, c in COUNTRY_VARIANTS.items()}}
    found = difflib.get_close_matches(fold_country(text), list(known), n=10, cutoff=0.6)
    return list(dict.fromkeys(names[known[f]] for f in found))[:limit]


def countries(text: pd.Series) -> Column:
    """Country names (several languages), ISO alpha-2/alpha-3 codes and common variants."""
    common, _ = _common_spellings()
    unique = pd.unique(text[text != ""])
    codes = {value: common.get(fold_country(value)) for value in unique}
    if None in codes.values():
        lookup, _ = country_lookup()
        codes = {value: code or lookup.get(fold_country(value)) for value, code in codes.items()}
    values = text.map(codes).where(text != "", None)
    problems = _no_problems(text.index)
    for value, code in codes.items():
        if code is None:
            near = closest_countries(value)
            hint = f"; did you mean {' or '.join(near)}?" if near else ""
            problems[text == value] = f"unknown country “{value}”{hint}"
    return Column(values.astype(object).where(values.notna(), None), problems)


def digits(text: pd.Series) -> pd.Series:
    return text.fillna("").astype(str).str.replace(r"[^0-9]", "", regex=True)


TAG_LIMIT = 60
# Google Contacts joins labels with " ::: " and gives every contact "* myContacts" (a system
# group that says nothing); Mailchimp quotes each tag: "Customer","Trade fair".
_TAG_SEPARATORS = re.compile(r"\s*(?::::|[,;|\n])\s*")
_SYSTEM_LABELS = {"mycontacts"}


def tags(text: pd.Series) -> Column:
    """Tag names, several to a cell (comma, semicolon, bar, line break or " ::: "), each
    once; the values are tuples of names (empty: none)."""
    problems = _no_problems(text.index)
    found: dict[str, tuple[str, ...]] = {}
    for cell in pd.unique(text[text != ""]):
        names: dict[str, str] = {}
        for part in _TAG_SEPARATORS.split(cell):
            name = " ".join(part.strip().strip("\"'").strip().removeprefix("* ").split())
            if name and name.casefold() not in _SYSTEM_LABELS:
                names.setdefault(name.casefold(), name)
        found[cell] = tuple(names.values())
        long = [n for n in names.values() if len(n) > TAG_LIMIT]
        if long:
            problems[text == cell] = (f"the tag “{long[0][:40]}…” is longer than {TAG_LIMIT} "
                                      "characters")
    return Column(text.map(lambda cell: found.get(cell, ())), problems)
