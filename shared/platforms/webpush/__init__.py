"""Web Push (RFC 8030/8291/8292): rendering, limits, subscription and VAPID key rules. Pure."""
