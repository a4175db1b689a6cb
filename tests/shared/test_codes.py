"""Money, ID numbers, region codes, masking and the log scrubber."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from shared.idnumber import InvalidIdNumber, check_digit, mask_id_number, parse_id_number
from shared.logs import scrub
from shared.money import Yuan, format_yuan, parse_yuan
from shared.regions import ancestors, is_region_code, level_of, longest_prefix_match, parent_of
from tests.support.factories import id_number


class Amount(BaseModel):
    amount: Yuan


class TestMoney:
    @pytest.mark.parametrize(("given", "fen"), [
        ("4300.00", 430000), ("4300", 430000), ("0.1", 10), ("0.01", 1), (4300, 430000),
        (4300.5, 430050), (0.1, 10), ("12.3", 1230), (" 7.00 ", 700),
    ])
    def test_valid(self, given, fen):
        assert parse_yuan(given) == fen

    @pytest.mark.parametrize(("given", "code"), [
        ("-1", "negative_amount"), (-0.5, "negative_amount"), ("1.234", "too_many_decimals"),
        (1.234, "too_many_decimals"), ("abc", "invalid_amount"), (True, "invalid_amount"),
        ("1e3", "invalid_amount"), ("", "invalid_amount"), (float("nan"), "invalid_amount"),
    ])
    def test_invalid(self, given, code):
        with pytest.raises(ValidationError) as info:
            Amount(amount=given)
        assert info.value.errors()[0]["type"] == code

    def test_serialises_as_yuan_string(self):
        assert Amount(amount="4300").model_dump(mode="json") == {"amount": "4300.00"}
        assert Amount.model_json_schema()["properties"]["amount"]["type"] == "string"

    @given(st.integers(min_value=0, max_value=10**15 - 1))
    def test_round_trip(self, fen):
        assert parse_yuan(format_yuan(fen)) == fen

    @given(st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False))
    def test_two_decimal_strings(self, value):
        assert parse_yuan(str(value)) == int(value * 100)


class TestIdNumber:
    def test_known_valid(self):
        info = parse_id_number("11010519491231002x")
        assert info.normalized == "11010519491231002X"
        assert info.birth_date == dt.date(1949, 12, 31)
        assert info.sex == "female"

    def test_check_digit(self):
        good = id_number()
        bad = good[:17] + ("0" if good[17] != "0" else "1")
        with pytest.raises(InvalidIdNumber) as info:
            parse_id_number(bad)
        assert info.value.reason == "check_digit"

    def test_impossible_birth_date(self):
        first17 = "43090219900231123"
        with pytest.raises(InvalidIdNumber) as info:
            parse_id_number(first17 + check_digit(first17))
        assert info.value.reason == "birth_date"

    def test_future_birth_date(self):
        first17 = "43090221000101123"
        with pytest.raises(InvalidIdNumber):
            parse_id_number(first17 + check_digit(first17))

    @given(st.text(max_size=20))
    def test_never_crashes(self, text):
        try:
            parse_id_number(text)
        except InvalidIdNumber:
            pass

    @given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2020, 12, 31)),
           st.integers(min_value=0, max_value=999))
    def test_generated_numbers_validate_and_single_changes_fail(self, birth, serial):
        first17 = f"430902{birth:%Y%m%d}{serial:03d}"
        number = first17 + check_digit(first17)
        assert parse_id_number(number).birth_date == birth
        for i in range(17):
            changed = number[:i] + str((int(number[i]) + 1) % 10) + number[i + 1:]
            with pytest.raises(InvalidIdNumber):
                parse_id_number(changed)

    def test_mask(self):
        assert mask_id_number("43090219900101123X") == "430902********123X"

    def test_log_scrubber_masks_id_shapes(self):
        number = id_number()
        line = scrub(f"payload had {number} inside")
        assert number not in line
        assert number[:6] in line and number[-4:] in line


class TestRegions:
    @pytest.mark.parametrize(("code", "level", "parent"), [
        ("43", "province", None), ("4309", "city", "43"), ("430902", "county", "4309"),
        ("430902100", "township", "430902"), ("430902100201", "village", "430902100"),
    ])
    def test_levels(self, code, level, parent):
        assert level_of(code) == level
        assert parent_of(code) == parent

    @pytest.mark.parametrize("code", ["4", "430", "43090210", "abc", "00", "4309021002011"])
    def test_invalid(self, code):
        assert not is_region_code(code)

    def test_longest_prefix(self):
        lines = {"": 1, "43": 2, "430902": 3}
        assert longest_prefix_match("430902100201", lines) == "430902"
        assert longest_prefix_match("431000000000", lines) == "43"
        assert longest_prefix_match("110000", lines) == ""

    @given(st.from_regex(r"^\d{12}$", fullmatch=True))
    def test_ancestors_are_prefixes(self, code):
        chain = ancestors(code)
        assert chain[0] == "" and chain[-1] == code
        assert all(code.startswith(a) for a in chain)
