from receipt.service import card_models  # noqa: F401  (its tables on Base: every create_all sees them)
