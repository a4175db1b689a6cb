"""Time-ordered ids: `new_ids` continues `new_id`'s sequence, in order, in the same format."""

import uuid

from shared.ids import new_id, new_ids


def _check(ids: list[str]) -> None:
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    for value in ids:
        parsed = uuid.UUID(value)
        assert str(parsed) == value and parsed.version == 7 and parsed.variant == uuid.RFC_4122


def test_new_ids_continue_new_id_in_order():
    ids = [new_id(), *new_ids(5), new_id(), *new_ids(1), new_id()]
    _check(ids)
    assert new_ids(0) == []


def test_more_ids_than_a_millisecond_counter_holds_stay_ordered():
    ids = [new_id(), *new_ids(9000), new_id(), *new_ids(5000)]
    _check(ids)
    # 12-bit counter per millisecond: at least two milliseconds were used for 9,000 ids.
    assert len({i[:13] for i in ids[1:9001]}) >= 3
