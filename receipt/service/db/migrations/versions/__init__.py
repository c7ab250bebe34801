"""The revisions, oldest first: 0001_initial, 0002_drop_schema_version, ..."""
