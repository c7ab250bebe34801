"""Receipt numbers: format, ISO 7064 MOD 37,36 check character, and what validate() says."""

from __future__ import annotations

import re

import pytest

from receipt.issue import numbers
from receipt.issue.numbers import (
    ALPHABET,
    NUMBER_RE,
    RANDOM_ALPHABET,
    check_character,
    format_for_reading,
    new_receipt_number,
    normalise,
    validate,
)
from receipt.specs import load_all

PREFIXES = sorted({spec.number_prefix for spec in load_all().values()})
# Issued numbers (fresh each run) from every prefix, plus fixed ones so a failure reproduces.
FIXED = ["BA2000000000000", "ZBAZZZZZZZZZZZZ", "SA27Q2M1XZ4K9FC", "YA1ABCDEFGHIJKL"]
SAMPLES = [new_receipt_number(p) for p in PREFIXES] + [
    n[:14] + check_character(n[:14]) for n in FIXED
]


def checksum_ok(number: str) -> bool:
    return number[-1] == check_character(number[:-1])


def test_iso_7064_reference_vector() -> None:
    # The GRid standard uses ISO 7064 MOD 37,36; its worked example is A1-2425G-ABC1234002-M.
    assert check_character("A12425GABC1234002") == "M"


def test_generated_numbers_have_the_format_and_validate() -> None:
    for prefix in PREFIXES:
        for _ in range(50):
            number = new_receipt_number(prefix)
            assert len(number) == 15 and NUMBER_RE.match(number), number
            assert number.startswith(prefix)
            check = validate(number)
            assert check.ok and check.code is None and check.number == number


def test_ten_thousand_numbers_are_distinct_and_use_the_whole_alphabet() -> None:
    generated = [new_receipt_number("BA2") for _ in range(10_000)]
    assert len(set(generated)) == len(generated)
    random_parts = "".join(n[3:14] for n in generated)
    assert set(random_parts) == set(RANDOM_ALPHABET)  # 110k draws: every character shows up
    assert not set(random_parts) & set("0O1I")  # no look-alikes to read back wrongly
    assert len(RANDOM_ALPHABET) == 32
    assert set(n[-1] for n in generated) == set(ALPHABET)  # the check character is plain MOD 37,36
    assert all(checksum_ok(n) for n in generated)


@pytest.mark.parametrize("number", SAMPLES)
def test_every_single_substitution_is_detected(number: str) -> None:
    for pos in range(len(number)):
        for ch in ALPHABET:
            if ch == number[pos]:
                continue
            typo = number[:pos] + ch + number[pos + 1:]
            assert not checksum_ok(typo), (number, typo)
            assert not validate(typo).ok, (number, typo)


@pytest.mark.parametrize("number", [n for n in SAMPLES if n[:3] in PREFIXES][:len(PREFIXES)])
def test_every_adjacent_transposition_of_an_issued_number_is_detected(number: str) -> None:
    for pos in range(len(number) - 1):
        a, b = number[pos], number[pos + 1]
        if a == b:
            continue
        typo = number[:pos] + b + a + number[pos + 2:]
        assert not checksum_ok(typo), (number, typo)
        assert not validate(typo).ok, (number, typo)


def test_many_issued_numbers_detect_every_adjacent_transposition() -> None:
    for prefix in PREFIXES:
        for _ in range(300):
            number = new_receipt_number(prefix)
            assert not numbers.has_blind_transposition(number), number


def test_mod_37_36_blind_spot_is_exactly_alphabet_neighbours_at_one_state() -> None:
    """Why new_receipt_number redraws: plain MOD 37,36 misses 1 in 630 neighbour swaps."""

    def step(product: int, value: int) -> int:
        return ((product + value) % 36 or 36) * 2 % 37

    missed = [(p, a, b) for p in range(1, 37) for a in range(36) for b in range(36)
              if a != b and step(step(p, a), b) == step(step(p, b), a)]
    assert len(missed) == 72  # of 36 states x 1260 ordered pairs
    assert all((a - b) % 36 in (1, 35) for _, a, b in missed)
    # One concrete case, and the guard that keeps such numbers from being issued.
    raw = "BA2XY00000000"
    raw += "0" + check_character(raw + "0")
    swapped = raw[:3] + "YX" + raw[5:]
    assert checksum_ok(raw) and checksum_ok(swapped)
    assert numbers.has_blind_transposition(raw)


def test_swaps_inside_every_spec_prefix_are_detected() -> None:
    # The redraw guard leaves prefix-internal swaps to this: they must change the checksum state.
    for prefix in PREFIXES:
        for i in range(2):
            swapped = prefix[:i] + prefix[i + 1] + prefix[i] + prefix[i + 2:]
            if swapped != prefix:
                assert numbers._mod37_36(swapped) != numbers._mod37_36(prefix), prefix


def test_normalise_strips_separators_folds_width_and_case() -> None:
    number = new_receipt_number("BA2")
    assert normalise(format_for_reading(number)) == number
    assert normalise(f" {number[:3].lower()}-{number[3:7]} {number[7:]} ") == number
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in number)  # what a Chinese IME types
    assert normalise(full_width) == number
    assert normalise(number[:5] + "\u3000－" + number[5:]) == number
    assert validate(format_for_reading(number).lower()).ok


def test_format_for_reading_groups_3_4_4_4() -> None:
    assert format_for_reading("BA2ABCDEFGHIJKL") == "BA2 ABCD EFGH IJKL"


def test_empty() -> None:
    check = validate("  - ")
    assert not check.ok and check.code == "NUMBER_EMPTY"
    assert "15" in check.message_zh and "15" in check.message_en


def test_wrong_length_says_how_many_were_given() -> None:
    number = new_receipt_number("BA2")
    short = validate(number[:12])
    assert short.code == "NUMBER_LENGTH"
    assert "12" in short.message_zh and "15" in short.message_zh and "少了3位" in short.message_zh
    assert "12 were given" in short.message_en and "15 characters" in short.message_en
    long = validate(number + "7")
    assert long.code == "NUMBER_LENGTH" and "16" in long.message_zh and "多了1位" in long.message_zh
    assert "1 too many" in long.message_en


def test_illegal_characters_are_named_with_their_position() -> None:
    number = new_receipt_number("BA2")
    check = validate(number[:4] + "*" + number[5:])
    assert check.code == "NUMBER_ILLEGAL_CHARS"
    assert "第5位" in check.message_zh and "“*”" in check.message_zh
    assert "'*' at position 5" in check.message_en
    chinese = validate("BA2回执" + number[5:])
    assert chinese.code == "NUMBER_ILLEGAL_CHARS"
    assert "第4位的“回”" in chinese.message_zh and "第5位的“执”" in chinese.message_zh


def test_unknown_prefix_lists_the_known_ones() -> None:
    body = "QQ9" + "12345678901"
    check = validate(body + check_character(body))
    assert check.code == "NUMBER_PREFIX"
    assert "QQ9" in check.message_zh and "QQ9" in check.message_en
    for prefix in PREFIXES:
        assert prefix in check.message_en
    digit_first = "1A2" + "12345678901"
    assert validate(digit_first + check_character(digit_first)).code == "NUMBER_PREFIX"


def test_prefixes_can_be_given_explicitly() -> None:
    body = "QQ9" + "12345678901"
    assert validate(body + check_character(body), prefixes={"QQ9"}).ok
    assert validate(new_receipt_number("BA2"), prefixes={"QQ9"}).code == "NUMBER_PREFIX"


def test_check_character_mismatch_says_typing_mistake() -> None:
    number = new_receipt_number("BA2")
    wrong = ALPHABET[(ALPHABET.index(number[-1]) + 1) % 36]
    check = validate(number[:-1] + wrong)
    assert check.code == "NUMBER_CHECK"
    assert "typing mistake" in check.message_en
    assert "输错" in check.message_zh
    assert not check  # NumberCheck is falsy when not ok


def test_new_receipt_number_refuses_a_malformed_prefix() -> None:
    for prefix in ("B2", "ba2", "1A2", "BA22"):
        with pytest.raises(ValueError):
            new_receipt_number(prefix)


def test_check_character_refuses_foreign_characters() -> None:
    with pytest.raises(ValueError):
        check_character("BA2-")


def test_all_spec_prefixes_fit_the_number_format() -> None:
    for prefix in PREFIXES:
        assert re.match(r"^[A-Z]{2}[0-9A-Z]$", prefix)
    assert numbers.known_prefixes() == frozenset(PREFIXES)


def test_numbers_issued_before_the_look_alike_free_alphabet_still_validate_and_say_so() -> None:
    body = "BA2" + "10O0I1Q2M3X"
    old = body + check_character(body)
    check = validate(old)
    assert check.ok and "earlier number" in check.message_en and "较早" in check.message_zh
    assert validate(new_receipt_number("BA2")).message_en == "The receipt number is well formed."


def test_a_look_alike_typo_names_the_number_it_probably_was() -> None:
    body = "BA2" + "7Q2M0XZ4K9F"  # an old-style number with a 0 in its random part, typed as O
    number = body + check_character(body)
    check = validate(number.replace("7Q2M0", "7Q2MO"))
    assert check.code == "NUMBER_CHECK"
    assert number in check.suggestions
    assert number in check.message_en and number in check.message_zh
    plain_typo = new_receipt_number("BA2")
    wrong = plain_typo[:5] + ("Q" if plain_typo[5] != "Q" else "R") + plain_typo[6:]
    assert validate(wrong).code == "NUMBER_CHECK"  # no 0/O 1/I in it: nothing to suggest
    assert all(s[:3] == "BA2" and validate(s).ok for s in validate(wrong).suggestions)
