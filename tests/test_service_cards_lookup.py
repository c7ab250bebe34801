"""CardService: the scope rule, judging, the order of the steps, and masked numbers in logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from receipt.errors import ReceiptError
from receipt.issue.numbers import new_receipt_number
from receipt.service.cards.apikeys import KeyRecord
from receipt.service.cards.lookup import CardService, Found
from receipt.service.runtime import Runtime
from tests.card_fixtures import StatementLog, issue_rows, new_key
from tests.service_fixtures import Backend


@pytest.fixture(scope="module")
def svc(backend: Backend) -> Iterator[CardService]:
    rt = Runtime.create(backend.settings(rate_client_failures="1000/minute"))
    service = CardService.create(rt)
    yield service
    service.close()
    rt.close()


def key(*scopes: str) -> KeyRecord:
    return KeyRecord(1, "k", frozenset(scopes), 10, "pr_live_x", datetime.now(UTC), None, None)


def found(spec_id: str, status: str = "issued", expires_on: date | None = None) -> Found:
    return Found(1, "BA2", spec_id, datetime.now(UTC), expires_on, "0" * 64, status)


@pytest.mark.parametrize("spec_id,scopes,visible", [
    ("shenzhen-ssc", {"shenzhen-ssc"}, True),
    ("shenzhen-ssc", {"guangdong-id"}, True),  # listed in shenzhen-ssc's accepted_for
    ("shenzhen-ssc", {"guangdong-residence", "dongguan-ssc"}, True),
    ("shenzhen-ssc", {"dongguan-ssc"}, False),  # 深圳拍的社保回执在东莞不可以用
    ("guangdong-id", {"shenzhen-ssc"}, False),  # accepted_for is one-way
    ("zhuhai-ssc", {"guangdong-id"}, True),
    ("retired-spec", {"retired-spec"}, True),  # a spec no longer loaded still serves its own id
])
def test_scope_rule(spec_id: str, scopes: set[str], visible: bool) -> None:
    error = CardService.judge(key(*scopes), found(spec_id), date.today())
    assert (error is None) is visible
    if not visible:
        assert error is not None and error.status == 404 and error.code == "RECEIPT_NOT_FOUND"


def test_revoked_wins_over_expired_and_expiry_day_is_still_valid() -> None:
    k = key("shenzhen-ssc")
    day = date(2025, 9, 10)
    assert CardService.judge(k, found("shenzhen-ssc", expires_on=day), day) is None
    expired = CardService.judge(k, found("shenzhen-ssc", expires_on=day), day + timedelta(days=1))
    assert expired is not None and expired.code == "RECEIPT_EXPIRED" and expired.detail == {"expires_on": "2025-09-10"}
    revoked = CardService.judge(k, found("shenzhen-ssc", "revoked", day), day + timedelta(days=1))
    assert revoked is not None and revoked.code == "RECEIPT_REVOKED" and revoked.status == 410
    assert CardService.judge(k, None, day).code == "RECEIPT_NOT_FOUND"  # type: ignore[union-attr]


def test_lookup_steps_and_masked_logs(svc: CardService, caplog: pytest.LogCaptureFixture) -> None:
    issued = issue_rows(svc.rt)
    record = svc.authenticate(new_key(svc.rt, "shenzhen-ssc"), "127.0.0.1", "lookup")
    body, headers = svc.lookup(record, issued.number, "127.0.0.1")
    assert body["number"] == issued.number and "RateLimit" in headers
    absent = new_receipt_number("BA2")
    with caplog.at_level(logging.DEBUG, logger="receipt.service.cards.lookup"), pytest.raises(ReceiptError) as err:
        svc.lookup(record, absent, "127.0.0.1")
    assert err.value.status == 404
    assert absent not in caplog.text and absent[-4:] in caplog.text  # masked to the last 4
    with StatementLog() as sql, pytest.raises(ReceiptError) as err:
        svc.lookup(record, absent[:-2], "127.0.0.1")
    assert err.value.status == 400 and sql.touching("receipts") == []
    with pytest.raises(ReceiptError) as err:
        svc.authenticate("pr_live_" + "B" * 43, "127.0.0.1", "lookup")
    assert err.value.status == 401
