"""Alembic scripts of the service database (env.py, versions/); a package so installs carry them."""
