"""The instance's avatar, one object: ``<db_prefix>/avatar``."""
