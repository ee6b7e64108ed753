"""Notifications: R4B topic-based Subscriptions (Subscriptions Backport IG) fed by a transactional outbox."""
