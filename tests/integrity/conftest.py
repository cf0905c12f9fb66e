"""Fixtures of the fault tests (defined in tests/integrity/faults.py, registered here)."""

from tests.integrity.faults import org, pg_url, sqlite_url

__all__ = ["org", "pg_url", "sqlite_url"]
