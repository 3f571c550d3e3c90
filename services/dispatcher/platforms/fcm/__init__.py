"""Firebase Cloud Messaging over the HTTP v1 API, authenticated with a service account."""
