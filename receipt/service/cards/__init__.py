"""Card systems: API keys with scopes, the receipt lookup, recorded uses, the append-only audit."""
