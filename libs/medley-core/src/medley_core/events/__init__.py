"""Events: the transactional outbox and its relay, stream provisioning, durable consumers
with an inbox for idempotency, retries, dead letters and their admin endpoints."""
