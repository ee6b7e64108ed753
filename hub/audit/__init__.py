"""The audit trail: BALP-shaped AuditEvents, hash-chained and append-only."""
