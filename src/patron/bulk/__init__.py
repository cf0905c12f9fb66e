"""Bulk import and export of customers (`patron import`, `patron export`)."""

DEFAULT_BATCH_SIZE = 2000
"""Lines per transaction unless `--batch-size` says otherwise."""
