"""Apple Push Notification service: rendering, limits, token and credential rules. Pure."""
