"""Audiences the registry finds: devices' topics, users' and devices' tags, and the streaming of
a notification's matching devices into per-user events."""
