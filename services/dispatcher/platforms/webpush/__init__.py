"""Web Push (RFC 8030): RFC 8291 message encryption and RFC 8292 VAPID, to any push service."""
