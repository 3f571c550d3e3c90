"""Webhooks: POST each app's notification outcomes to the URLs it registered, signed."""
