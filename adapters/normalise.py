"""The EMPI matcher's input: a Patient's demographics, normalised so that records of one person from
different institutions compare equal.

- Names: Han characters are kept (traditional folded to simplified through their pinyin) and
  spelled in toneless pinyin (``pypinyin``); Latin names are lower-cased, accents and digits
  dropped, ``ü``/``yu``/``v`` unified. A surname with several readings (单 shan/dan, 曾 zeng/ceng)
  gives one form per reading, and the common non-pinyin romanisations of surnames and syllables
  (Wade-Giles, Cantonese, Hokkien: Chang, Hsu, Wong, Lee, Cheung ...) give a pinyin alternative.
- Birth date ``YYYY-MM-DD``; gender FHIR ``administrative-gender`` (``unknown`` is no information);
  phones as national digits (``+86``/``0086`` and separators removed).
- The resident ID card number (SEC-05) normalised; the other identifiers as ``(system, value)``.

Pure: no database, no network.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import orjson
from pypinyin import Style, lazy_pinyin, pinyin

from adapters.identifiers import (
    IdentifierError,
    normalise_resident_id,
    resident_id_birth_date,
    resident_id_gender,
)
from hub.fhir.validation import RESIDENT_ID_SYSTEM

# Non-pinyin romanisations met in HIS records and identity documents, to their pinyin (the ones
# that are themselves pinyin syllables, like "chang" 常, keep their own reading too).
VARIANTS: dict[str, tuple[str, ...]] = {
    "au": ("ou",),
    "chan": ("chen",),
    "chang": ("zhang",),
    "chao": ("zhao",),
    "cheung": ("zhang",),
    "chiang": ("jiang",),
    "chih": ("zhi",),
    "chin": ("qin", "chen"),
    "chiu": ("qiu", "zhao"),
    "choi": ("cai",),
    "chou": ("zhou",),
    "chow": ("zhou",),
    "chu": ("zhu",),
    "chung": ("zhong",),
    "fung": ("feng",),
    "ho": ("he",),
    "hsiao": ("xiao",),
    "hsieh": ("xie",),
    "hsien": ("xian",),
    "hsin": ("xin",),
    "hsiung": ("xiong",),
    "hsu": ("xu",),
    "hsueh": ("xue",),
    "hwang": ("huang",),
    "jen": ("ren",),
    "jung": ("rong",),
    "kao": ("gao",),
    "kiang": ("jiang",),
    "koo": ("gu",),
    "ku": ("gu",),
    "kuang": ("guang",),
    "kung": ("gong",),
    "kuo": ("guo",),
    "kwok": ("guo",),
    "lam": ("lin",),
    "lau": ("liu",),
    "law": ("luo",),
    "lee": ("li",),
    "leung": ("liang",),
    "lim": ("lin",),
    "lo": ("luo",),
    "mak": ("mai",),
    "mok": ("mo",),
    "ng": ("wu",),
    "szeto": ("situ",),
    "szu": ("si",),
    "tam": ("tan",),
    "teng": ("deng",),
    "tong": ("tang",),
    "tsai": ("cai",),
    "tsang": ("zeng",),
    "tsao": ("cao",),
    "tse": ("xie",),
    "tseng": ("zeng",),
    "tsou": ("zou",),
    "tsui": ("cui",),
    "tung": ("dong",),
    "tzu": ("zi",),
    "wong": ("wang", "huang"),
    "woo": ("wu",),
    "yeung": ("yang",),
    "yip": ("ye",),
    "yuen": ("yuan",),
}
_UMLAUT = (("lyu", "lv"), ("nyu", "nv"), ("lue", "lve"), ("nue", "nve"))
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[a-z]+")
_NOT_DIGIT = re.compile(r"\D+")
_MAX_FORMS = 6


@dataclass(frozen=True)
class NameForm:
    """One way of writing a name: its syllables family name first, and its Han characters if any."""

    tokens: tuple[str, ...]
    han: str | None = None
    weight: float = 1.0  # < 1 for a form reached through a romanisation variant

    @property
    def key(self) -> str:
        return "".join(self.tokens)


@dataclass(frozen=True)
class Demographics:
    names: tuple[NameForm, ...]
    birth_date: str | None
    gender: str | None
    phones: tuple[str, ...]
    resident_id: str | None
    identifiers: tuple[tuple[str, str], ...]  # (system, value), resident ID included

    def to_json(self) -> dict:
        return {
            "n": [[list(f.tokens), f.han, f.weight] for f in self.names],
            "b": self.birth_date,
            "g": self.gender,
            "p": list(self.phones),
            "r": self.resident_id,
            "i": [list(i) for i in self.identifiers],
        }

    @classmethod
    def from_json(cls, data: dict) -> Demographics:
        return cls(
            tuple(NameForm(tuple(t), h, w) for t, h, w in data["n"]),
            data["b"],
            data["g"],
            tuple(data["p"]),
            data["r"],
            tuple((s, v) for s, v in data["i"]),
        )


# --------------------------------------------------------------------------- names


def _latin_tokens(text: str) -> list[str]:
    text = text.lower().replace("ü", "v").replace("u:", "v")
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    words = _LATIN_WORD.findall(text)
    out = []
    for w in words:
        for a, b in _UMLAUT:
            w = w.replace(a, b)
        out.append(w)
    return out


def _han_forms(text: str) -> list[NameForm]:
    han = "".join(_HAN.findall(text))
    syllables = lazy_pinyin(han, style=Style.NORMAL)
    # Traditional and simplified characters share their pinyin; the characters are compared as
    # written only when both sides have them, so 張偉 and 张伟 meet through the syllables.
    forms = [NameForm(tuple(syllables), han)]
    readings = pinyin(han[0], style=Style.NORMAL, heteronym=True)[0] if han else []
    for r in readings[:3]:
        if r != syllables[0]:
            forms.append(NameForm((r, *syllables[1:]), han))
    return forms


def _with_variants(form: NameForm) -> list[NameForm]:
    out = [form]
    for i in (0, len(form.tokens) - 1):
        for alt in VARIANTS.get(form.tokens[i], ()):
            tokens = list(form.tokens)
            tokens[i] = alt
            out.append(NameForm(tuple(tokens), form.han, 0.95))
    return out


def name_forms(name: dict) -> list[NameForm]:
    """The forms of one ``HumanName``: family name first whatever the source order. A name in
    pinyin whose ``text`` is in characters (``family: Zhang``, ``text: 张伟``) gives both."""
    family = name.get("family") or ""
    given = " ".join(g for g in name.get("given") or [] if isinstance(g, str))
    text = name.get("text") or ""
    structured = family + given
    if _HAN.search(structured):
        return _han_forms(structured)
    forms: list[NameForm] = []
    if _HAN.search(text):
        forms += _han_forms(text)
    if structured:
        tokens = tuple(_latin_tokens(family) + _latin_tokens(given))
        if tokens:
            forms += _with_variants(NameForm(tokens))
    elif not forms:
        tokens = tuple(_latin_tokens(text))
        if tokens:
            forms += _with_variants(NameForm(tokens))
            if len(tokens) > 1:  # only a text: "Xiaoming Zhang" may be written given name first
                forms += _with_variants(NameForm((tokens[-1], *tokens[:-1])))
    return forms


def names_of(patient: dict) -> tuple[NameForm, ...]:
    names = patient.get("name")
    if not names:
        return ()
    try:  # the same names again (a record is prepared, matched, stored and indexed): worked out once
        key = orjson.dumps(names, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return _names_of(names)
    return _names_cached(key)


@lru_cache(maxsize=4096)
def _names_cached(key: bytes) -> tuple[NameForm, ...]:
    return _names_of(orjson.loads(key))


def _names_of(names) -> tuple[NameForm, ...]:
    seen: dict[tuple, NameForm] = {}
    for name in names if isinstance(names, list) else []:
        if not isinstance(name, dict) or name.get("use") == "old":
            continue
        for f in name_forms(name):
            k = (f.tokens, f.han)
            if k not in seen or seen[k].weight < f.weight:
                seen[k] = f
    return tuple(list(seen.values())[: _MAX_FORMS * 2])


# --------------------------------------------------------------------------- other fields


def normalise_phone(value: str) -> str | None:
    digits = _NOT_DIGIT.sub("", value or "")
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits if len(digits) >= 7 else None


def phones_of(patient: dict) -> tuple[str, ...]:
    out = []
    for t in patient.get("telecom") or []:
        if isinstance(t, dict) and t.get("system") in ("phone", "sms", None) and t.get("value"):
            p = normalise_phone(t["value"])
            if p and p not in out:
                out.append(p)
    return tuple(out)


def gender_of(patient: dict) -> str | None:
    g = patient.get("gender")
    return g if g in ("male", "female", "other") else None


def birth_date_of(patient: dict) -> str | None:
    b = patient.get("birthDate")
    return b[:10] if isinstance(b, str) and len(b) >= 10 else None


def identifiers_of(patient: dict) -> tuple[str | None, tuple[tuple[str, str], ...]]:
    rid = None
    out = []
    for ident in patient.get("identifier") or []:
        system, value = ident.get("system"), ident.get("value")
        if not system or not isinstance(value, str) or not value.strip():
            continue
        value = value.strip()
        if system == RESIDENT_ID_SYSTEM:
            try:
                value = normalise_resident_id(value)
            except IdentifierError:
                continue  # an invalid number identifies no one
            rid = rid or value
        if (system, value) not in out:
            out.append((system, value))
    return rid, tuple(out)


def demographics(patient: dict) -> Demographics:
    """A record without a birth date or sex takes them from its resident ID number (SEC-05)."""
    rid, identifiers = identifiers_of(patient)
    return Demographics(
        names_of(patient),
        birth_date_of(patient) or (resident_id_birth_date(rid) if rid else None),
        gender_of(patient) or (resident_id_gender(rid) if rid else None),
        phones_of(patient),
        rid,
        identifiers,
    )


def cross_check(patient: dict) -> list[str]:
    """Where the record's birth date or sex disagrees with its resident ID number (SEC-05: warn,
    do not overwrite). The number itself is never in the message."""
    rid, _ = identifiers_of(patient)
    if not rid:
        return []
    out = []
    birth = birth_date_of(patient)
    if birth and birth != resident_id_birth_date(rid):
        out.append("Patient.birthDate differs from the birth date in the resident ID card number")
    gender = gender_of(patient)
    if gender in ("male", "female") and gender != resident_id_gender(rid):
        out.append("Patient.gender differs from the sex the resident ID card number encodes")
    return out
