"""ID numbers: the import's quick check agrees with `parse_id_number` on every input."""

import datetime as dt
import random

import pytest

from shared.idnumber import InvalidIdNumber, check_digit, parse_id_number, quick_fields

TODAY = dt.date(2026, 11, 23)


def _candidates(rng: random.Random) -> list[str]:
    out = []
    for _ in range(3000):
        born = dt.date(1890, 1, 1) + dt.timedelta(days=rng.randrange(50000))
        first17 = f"{rng.randrange(110000, 660000)}{born:%Y%m%d}{rng.randrange(1000):03d}"
        good = first17 + check_digit(first17)
        out += [good, good.lower(), good[:17] + rng.choice("0123456789Xx"),
                first17[:10] + f"{rng.randrange(0, 14):02d}{rng.randrange(0, 33):02d}"
                + first17[14:] + rng.choice("0123456789X"), "0" + good[1:], good[:-1],
                good + "1", good.replace(good[3], "a", 1)]
    return out


def test_quick_fields_agree_with_parse_id_number():
    rng = random.Random(11)
    valid = 0
    for text in _candidates(rng):
        try:
            info = parse_id_number(text, today=TODAY)
        except InvalidIdNumber:
            assert quick_fields(text, TODAY) is None, text
            continue
        valid += 1
        assert quick_fields(text, TODAY) == (info.normalized, info.birth_date, info.sex)
    assert valid > 3000  # both outcomes were exercised


def test_future_birth_dates_are_refused_by_both():
    first17 = f"430902{TODAY + dt.timedelta(days=1):%Y%m%d}123"
    number = first17 + check_digit(first17)
    assert quick_fields(number, TODAY) is None
    with pytest.raises(InvalidIdNumber) as refused:
        parse_id_number(number, today=TODAY)
    assert refused.value.reason == "birth_date"
