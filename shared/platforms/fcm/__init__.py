"""Firebase Cloud Messaging (HTTP v1): rendering, limits, token and service-account rules. Pure."""
