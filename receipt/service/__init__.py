# Tables that live in their own modules on db.Base; importing them here registers them with every
# user of the schema (create_all, migrations) without db.py importing them back.
from receipt.service import pii, retention, tracing  # noqa: F401, E402
from receipt.service.cards import models as card_models  # noqa: F401  (its tables on Base)
from receipt.service.review import models as review_models  # noqa: F401
