"""Change events: built from a plan, stored in the outbox with the change, relayed to NATS."""
