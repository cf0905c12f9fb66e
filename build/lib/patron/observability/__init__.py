"""Metrics, request logs and health checks: how an operator sees what patron is doing."""
