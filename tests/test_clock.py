"""China time: receipts issued late in the UTC day belong to the next day in China."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from receipt.issue.clock import china_date, china_iso, china_today
from receipt.issue.issuer import expiry_for
from receipt.specs import get_spec


def test_china_date_and_iso() -> None:
    late = datetime(2025, 3, 14, 20, 30, tzinfo=UTC)  # 04:30 on the 15th in Shenzhen
    assert china_date(late) == date(2025, 3, 15)
    assert china_iso(late) == "2025-03-15T04:30:00+08:00"
    assert china_today(late) == date(2025, 3, 15)
    with pytest.raises(ValueError):
        china_date(datetime(2025, 3, 14))


def test_expiry_counts_from_the_day_of_issue_in_china() -> None:
    spec = get_spec("shenzhen-ssc")
    late = datetime(2025, 3, 14, 20, 30, tzinfo=UTC)
    assert expiry_for(spec, late) == date(2025, 3, 15) + timedelta(days=spec.validity_days)
    early = datetime(2025, 3, 14, 1, 0, tzinfo=UTC)
    assert expiry_for(spec, early) == date(2025, 3, 14) + timedelta(days=spec.validity_days)
    assert expiry_for(get_spec("foshan-ssc"), late) is None  # no expiry
