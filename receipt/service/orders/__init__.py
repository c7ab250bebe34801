"""Orders and their attempts: the state machine every front end and worker goes through.

Order status (what the applicant sees)::

    received --claim--> processing --pass-->   issued --audit disagrees--> revoked
        ^                   |      --review--> in_review --approve--> issued
        |                   |      --reject--> rejected              \\--reject--> rejected
        |                   \\--too many failures--> error   (rejected --appeal--> in_review)
        \\------- resubmission (only from rejected or revoked) -------/

Attempt status (what the queue sees): queued -> processing -> done | error, with
processing -> queued again when a job fails (back-off) or its worker disappears (lease).

Exactly-once issuing does not depend on the queue: a worker may only finish an attempt while
it holds the attempt's current claim token (an UPDATE ... WHERE claim_token = ?), and the
receipts table has unique order_id / attempt_id / number. Every change appends an Event in the
same transaction, and a webhook delivery row when a webhook is configured (outbox).
"""

from receipt.service.issuing import IssuedRecord
from receipt.service.orders.attempts import (
    Claim,
    Outcome,
    claim_attempt,
    clear_enqueued,
    due_attempts,
    expire_leases,
    fail_attempt,
    finish_attempt,
    mark_enqueued,
    outcome_from_intake_error,
    renew_lease,
)
from receipt.service.orders.state import (
    RESUBMITTABLE,
    TERMINAL,
    TRANSITIONS,
    authorize,
    emit,
    hash_token,
    receipt_row,
    set_status,
)
from receipt.service.orders.submit import NewAttempt, NewOrder, add_attempt, create_order, latest_attempt_id, retry_order
from receipt.service.orders.views import OrderFiles, order_events, order_files, order_view

__all__ = [
    "RESUBMITTABLE", "TERMINAL", "TRANSITIONS", "Claim", "IssuedRecord", "NewAttempt", "NewOrder", "OrderFiles", "Outcome",
    "add_attempt", "authorize", "claim_attempt", "clear_enqueued", "create_order", "due_attempts", "expire_leases",
    "fail_attempt", "finish_attempt", "hash_token", "latest_attempt_id", "mark_enqueued",
    "order_events", "order_files", "order_view", "outcome_from_intake_error", "renew_lease", "retry_order",
    "emit", "receipt_row", "set_status",
]
