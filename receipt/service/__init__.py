# The review tables live in their own module on db.Base; importing it here registers them with
# every user of the schema (create_all, migrations) without db.py importing it back.
from receipt.service import review_models  # noqa: F401
