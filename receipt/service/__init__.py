# The review tables live in their own module on db.Base; importing it here registers them with
# every user of the schema (create_all, migrations) without db.py importing it back.
from receipt.service.cards import models as card_models  # noqa: F401  (its tables on Base)
from receipt.service.review import models as review_models  # noqa: F401
