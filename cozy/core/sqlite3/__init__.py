"""Django's SQLite backend, with a write lock that is waited for without blocking the process (see base.py)."""
