"""The service database, in three parts:

- models.py   the SQLAlchemy models (one `Base`), the UTCDateTime/JSONText types and the
              append-only trigger on events;
- engine.py   make_engine (SQLite set up for several processes) and `Database` (engine + sessions);
- migrate.py  `migrate(engine)`: Alembic brings any database (empty, pre-Alembic, or managed)
              to the newest revision in migrations/versions; see migrations/README.md for how
              to add a revision.

Callers import from here: `from receipt.service.db import Database, Order, utcnow`.
"""

import logging

if logging.getLogger("alembic").level == logging.NOTSET:
    # Before Alembic is imported: it logs its plugins and context at INFO on every start of every
    # process; migrate.py logs what changed. Set the "alembic" logger's level to see Alembic's lines.
    logging.getLogger("alembic").setLevel(logging.WARNING)

from receipt.service.db.engine import Database, make_engine  # noqa: E402
from receipt.service.db.migrate import alembic_config, current_revision, head_revision, migrate  # noqa: E402
from receipt.service.db.models import (  # noqa: E402
    ATTEMPT_STATUSES,
    ORDER_STATUSES,
    AnalysisResult,
    Attempt,
    Base,
    BigId,
    Event,
    JSONText,
    Order,
    Receipt,
    ReviewDecision,
    UTCDateTime,
    WebhookDelivery,
    utcnow,
)

__all__ = [
    "ATTEMPT_STATUSES", "ORDER_STATUSES", "AnalysisResult", "Attempt", "Base", "BigId", "Database", "Event",
    "JSONText", "Order", "Receipt", "ReviewDecision", "UTCDateTime", "WebhookDelivery", "alembic_config",
    "current_revision", "head_revision", "make_engine", "migrate", "utcnow",
]
