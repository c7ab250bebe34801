"""Receipt numbers (相片回执号 / 图像号).

Format, 15 characters, ``^[A-Z]{2}[0-9A-Z][0-9A-Z]{12}$``::

    BA2  7Q2M5XZ4K9F  C
    |    |            +-- check character, ISO 7064 MOD 37,36 over the first 14 (any of 0-9A-Z)
    |    +-- 11 random characters from RANDOM_ALPHABET: 2-9 and A-Z without I and O, so
    |        nobody reading a number back mixes up 0/O or 1/I (``secrets``: not guessable,
    |        not sequential; redrawn in the rare case a neighbour swap would slip past the
    |        check character). Numbers issued before used all of 0-9A-Z and stay valid.
    +-- the spec's number_prefix (city letter, series letter, document digit)

Card systems type these numbers by hand, so the check character catches every single
wrong character, and (see `new_receipt_number`) every swap of two neighbours in the numbers
we issue, before a lookup is even tried.
Uniqueness under concurrency is the database's job (unique constraint); here 32**11
random bodies make collisions rare enough that a retry on conflict is all it needs.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LOOK_ALIKES = {"0": "O", "O": "0", "1": "I", "I": "1"}
RANDOM_ALPHABET = "".join(ch for ch in ALPHABET if ch not in LOOK_ALIKES)  # 32 characters
LENGTH = 15
PREFIX_LENGTH = 3
RANDOM_LENGTH = LENGTH - PREFIX_LENGTH - 1
NUMBER_RE = re.compile(r"^[A-Z]{2}[0-9A-Z][0-9A-Z]{12}$")
PREFIX_RE = re.compile(r"^[A-Z]{2}[0-9A-Z]$")

_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_MOD = 36
# Separators people type or paste between groups: spaces of any width, and hyphen/dash variants.
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212\u30fc\uff0d_]+")


@dataclass(frozen=True)
class NumberCheck:
    """Outcome of `validate`; the messages are meant to be shown to a person as they are."""

    ok: bool
    code: str | None
    message_zh: str
    message_en: str
    number: str = ""  # the normalised input
    suggestions: tuple[str, ...] = ()  # NUMBER_CHECK: valid numbers one 0/O or 1/I swap away

    def __bool__(self) -> bool:
        return self.ok


def normalise(number: str) -> str:
    """Drop spaces and hyphens, fold full-width characters (Chinese IMEs type them) and upper-case."""
    folded = unicodedata.normalize("NFKC", number)
    return _SEPARATORS.sub("", folded).upper()


def _mod37_36(text: str) -> int:
    """ISO 7064 hybrid system MOD 37,36: the running product after `text`."""
    product = _MOD
    for ch in text:
        total = (product + _VALUE[ch]) % _MOD or _MOD
        product = (total * 2) % (_MOD + 1)
    return product


def check_character(body: str) -> str:
    """The ISO 7064 MOD 37,36 check character for `body` (characters from 0-9A-Z)."""
    bad = [ch for ch in body if ch not in _VALUE]
    if bad:
        raise ValueError(f"check_character: {bad[0]!r} is not in 0-9A-Z")
    return ALPHABET[(_MOD + 1 - _mod37_36(body)) % _MOD]


def has_blind_transposition(number: str, start: int = 0) -> bool:
    """True if swapping two neighbours (from index `start` on) leaves the check character valid.

    MOD 37,36 catches every single substitution, but not every adjacent transposition: it
    misses swapping two alphabet neighbours (e.g. "HI", "9A", "Z0") when the running sum
    before them hits one residue, 1 in 630 (state, pair) cases, about 1.7 % of random numbers.
    """
    for i in range(start, len(number) - 1):
        a, b = number[i], number[i + 1]
        if a != b:
            swapped = number[:i] + b + a + number[i + 2:]
            if swapped[-1] == check_character(swapped[:-1]):
                return True
    return False


def new_receipt_number(prefix: str) -> str:
    """A fresh random receipt number for a spec's 3-character `number_prefix`.

    Draws whose check character could not catch a swap of two neighbouring characters are
    drawn again (~1.7 % of them), so every number we issue detects every adjacent
    transposition as well as every single wrong character. The check character itself stays
    plain ISO 7064 MOD 37,36, so any verifier can recompute it. Swaps inside the fixed prefix
    are left to the prefix check (a bad prefix would otherwise make every draw fail).
    """
    if not PREFIX_RE.match(prefix):
        raise ValueError(f"number prefix {prefix!r} must match {PREFIX_RE.pattern}")
    while True:
        body = prefix + "".join(secrets.choice(RANDOM_ALPHABET) for _ in range(RANDOM_LENGTH))
        number = body + check_character(body)
        if not has_blind_transposition(number, start=PREFIX_LENGTH - 1):
            return number


def format_for_reading(number: str) -> str:
    """Group as 3-4-4-4 ('BA2 7Q2M 1XZ4 K9FC') so it can be read aloud; `normalise` undoes it."""
    n = normalise(number)
    return " ".join(part for part in (n[:3], n[3:7], n[7:11], n[11:]) if part)


def known_prefixes() -> frozenset[str]:
    # Imported here so that generating or check-summing a number never needs the spec files.
    from receipt.specs import load_all

    return frozenset(spec.number_prefix for spec in load_all().values())


def _fail(code: str, zh: str, en: str, number: str) -> NumberCheck:
    return NumberCheck(False, code, zh, en, number)


def look_alike_suggestions(number: str) -> tuple[str, ...]:
    """Numbers that pass the check character after changing one 0<->O or 1<->I.

    The prefix is fixed per spec, so only the random part and the check character are tried.
    One wrong character always breaks the check, so a single candidate is very likely what
    the receipt says; it is pure arithmetic and says nothing about which numbers exist."""
    found = []
    for i in range(PREFIX_LENGTH, len(number)):
        other = LOOK_ALIKES.get(number[i])
        if other:
            candidate = number[:i] + other + number[i + 1:]
            if candidate[-1] == check_character(candidate[:-1]):
                found.append(candidate)
    return tuple(found)


def validate(number: str, prefixes: Iterable[str] | None = None) -> NumberCheck:
    """Explain exactly what is wrong with a typed receipt number, or say it is well formed.

    `prefixes` defaults to the prefixes of all loaded specs. A well-formed number may still
    be unknown to the database; that is the lookup's business, not this function's.
    """
    n = normalise(number)
    if not n:
        return _fail("NUMBER_EMPTY", "请输入相片回执号（15位字母或数字）。",
                     "Please enter the receipt number (15 letters or digits).", n)

    illegal = [(i + 1, ch) for i, ch in enumerate(n) if ch not in _VALUE]
    if illegal:
        zh = "、".join(f"第{pos}位的“{ch}”" for pos, ch in illegal[:5])
        en = ", ".join(f"{ch!r} at position {pos}" for pos, ch in illegal[:5])
        more_zh = f"等{len(illegal)}处" if len(illegal) > 5 else ""
        more_en = f" and {len(illegal) - 5} more" if len(illegal) > 5 else ""
        return _fail("NUMBER_ILLEGAL_CHARS",
                     f"相片回执号只能包含数字0-9和字母A-Z，{zh}{more_zh}不是合法字符。",
                     f"A receipt number contains only digits 0-9 and letters A-Z; "
                     f"{en}{more_en} {'is' if len(illegal) == 1 else 'are'} not allowed.", n)

    if len(n) != LENGTH:
        return _fail("NUMBER_LENGTH",
                     f"相片回执号应为{LENGTH}位，您输入了{len(n)}位"
                     f"（{'多' if len(n) > LENGTH else '少'}了{abs(len(n) - LENGTH)}位）。",
                     f"A receipt number has {LENGTH} characters; {len(n)} "
                     f"{'was' if len(n) == 1 else 'were'} given "
                     f"({abs(len(n) - LENGTH)} too {'many' if len(n) > LENGTH else 'few'}).", n)

    allowed = frozenset(prefixes) if prefixes is not None else known_prefixes()
    prefix = n[:PREFIX_LENGTH]
    if not NUMBER_RE.match(n) or prefix not in allowed:
        listed = ", ".join(sorted(allowed))
        return _fail("NUMBER_PREFIX",
                     f"相片回执号开头“{prefix}”不是本系统签发的类型（应为 {listed} 之一），"
                     f"请核对回执上的号码或确认回执的城市和证件类型。",
                     f"The number starts with {prefix!r}, which is not a prefix this system issues "
                     f"(expected one of {listed}); check the number on the receipt, and that the "
                     f"receipt is for this city and document.", n)

    expected = check_character(n[:-1])
    if n[-1] != expected:
        suggestions = look_alike_suggestions(n)
        hint_zh = hint_en = ""
        if suggestions:
            hint_zh = f"把0和O或1和I对调后，{'、'.join(suggestions)} 是有效的号码，请与回执核对。"
            hint_en = (f" Swapping a 0/O or 1/I gives {', '.join(suggestions)}, which "
                       f"{'is' if len(suggestions) == 1 else 'are'} well formed; compare with the receipt.")
        return NumberCheck(False, "NUMBER_CHECK",
                           "相片回执号校验位不符，很可能输错了一位或颠倒了相邻两位（注意区分0和O、1和I），"
                           "请逐位核对。" + hint_zh,
                           "The check character does not match: most likely a typing mistake (one wrong "
                           "character, or two neighbours swapped; mind 0/O and 1/I). Please compare it "
                           "character by character." + hint_en, n, suggestions)

    if any(ch in LOOK_ALIKES for ch in n[PREFIX_LENGTH:-1]):
        # Issued before the look-alike-free alphabet: still valid, and worth saying why it has them.
        return NumberCheck(True, None, "相片回执号格式正确（较早签发的号码，可能含有数字0、1或字母O、I）。",
                           "The receipt number is well formed (an earlier number: it may contain the digits "
                           "0 and 1 and the letters O and I).", n)
    return NumberCheck(True, None, "相片回执号格式正确。", "The receipt number is well formed.", n)
