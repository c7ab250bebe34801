"""Who an order is for: name, optional resident ID number (GB 11643), phone, guardian.

Kept apart from HTTP so the API, a CLI import or a reviewer tool apply the same checks.
Every failure is a ReceiptError with a stable code and a bilingual message.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from receipt.errors import ReceiptError

GUARDIAN_AGE = 16  # under this age the public guides require a guardian to apply
_WEIGHTS = [2 ** (17 - i) % 11 for i in range(17)]  # GB 11643: W_i = 2^(i-1) mod 11, i = 18..2
_CHECK = "10X98765432"  # check character for (sum mod 11) = 0..10
_ID_RE = re.compile(r"^[1-9]\d{16}[\dX]$")
_PHONE_RE = re.compile(r"^1[3-9]\d{9}$")  # mainland mobile numbers
_NAME_MAX = 50


def _invalid(code: str, zh: str, en: str, status: int = 422) -> ReceiptError:
    return ReceiptError(code, f"{zh} / {en}", status=status)


def id_check_character(first17: str) -> str:
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def parse_id_number(value: str, *, today: date | None = None) -> tuple[str, date]:
    """Normalise and validate an 18-digit resident ID number; returns (number, birth date)."""
    number = unicodedata.normalize("NFKC", value).strip().replace(" ", "").upper()
    if not _ID_RE.match(number):
        raise _invalid("ID_NUMBER_INVALID", "身份证号码应为18位（最后一位可为X）",
                       "the ID number must have 18 characters, digits with an optional final X")
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise _invalid("ID_NUMBER_INVALID", "身份证号码中的出生日期无效",
                       "the birth date inside the ID number is not a real date") from None
    today = today or date.today()
    if birth > today or birth.year < 1880:  # 1880: the example number in GB 11643 itself
        raise _invalid("ID_NUMBER_INVALID", "身份证号码中的出生日期无效",
                       "the birth date inside the ID number is not plausible")
    if id_check_character(number[:17]) != number[17]:
        raise _invalid("ID_NUMBER_INVALID", "身份证号码校验位不正确，请核对",
                       "the ID number's check digit does not match; please check it for typos")
    return number, birth


def age_on(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


@dataclass(frozen=True)
class Applicant:
    name: str
    id_number: str | None
    birth_date: date | None
    phone: str | None
    guardian_name: str | None


def refused_character(value: str) -> str | None:
    """Why a free-text value cannot be stored, or None: control and format characters (NUL, the
    bidi overrides U+202A-U+202E / U+2066-U+2069, zero-width marks), surrogates, private use and
    unassigned code points, and U+FFFD (what invalid UTF-8 becomes)."""
    for c in value:
        if c == "\ufffd":
            return "invalid UTF-8"
        if unicodedata.category(c).startswith("C"):
            return f"U+{ord(c):04X}"
    return None


def clean_text(value: str | None, *, code: str, zh: str, en: str, max_len: int = _NAME_MAX) -> str | None:
    """A free-text field NFKC-normalised with its whitespace collapsed, or a ReceiptError `code`."""
    if value is None:
        return None
    bad = refused_character(value)
    if bad:
        raise _invalid(code, f"{zh}含有无效字符", f"{en} has a character that is not allowed ({bad})")
    text = " ".join(unicodedata.normalize("NFKC", value).split())
    if len(text) > max_len:
        raise _invalid(code, f"{zh}过长", f"{en} is longer than {max_len} characters")
    return text or None


def _clean_name(value: str | None) -> str | None:
    return clean_text(value, code="NAME_INVALID", zh="姓名", en="the name")


def validate_applicant(name: str | None, id_number: str | None = None, phone: str | None = None,
                       guardian_name: str | None = None, *, today: date | None = None) -> Applicant:
    today = today or date.today()
    clean = _clean_name(name)
    if not clean:
        raise _invalid("NAME_REQUIRED", "请填写申请人姓名", "the applicant's name is required")
    number: str | None = None
    birth: date | None = None
    for text, code in ((id_number, "ID_NUMBER_INVALID"), (phone, "PHONE_INVALID")):
        bad = refused_character(text or "")
        if bad:
            raise _invalid(code, "含有无效字符", f"the field has a character that is not allowed ({bad})")
    if id_number and id_number.strip():
        number, birth = parse_id_number(id_number, today=today)
    tel: str | None = None
    if phone and phone.strip():
        tel = re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", phone))
        tel = re.sub(r"^(\+?86)", "", tel)
        if not _PHONE_RE.match(tel):
            raise _invalid("PHONE_INVALID", "手机号码应为11位数字", "the phone number must be an 11-digit mainland mobile")
    guardian = clean_text(guardian_name, code="GUARDIAN_NAME_INVALID", zh="监护人姓名", en="the guardian's name")
    if birth is not None and age_on(birth, today) < GUARDIAN_AGE and not guardian:
        raise _invalid("GUARDIAN_REQUIRED", f"未满{GUARDIAN_AGE}周岁的申请人需填写监护人姓名",
                       f"applicants under {GUARDIAN_AGE} need a guardian's name")
    return Applicant(clean, number, birth, tel, guardian)
