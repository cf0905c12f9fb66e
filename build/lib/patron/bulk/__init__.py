"""Bulk import and export of customers (`patron import`, `patron export`)."""
