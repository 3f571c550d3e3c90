"""A Web Push service emulator (RFC 8030): it issues subscriptions with keys it keeps, decrypts
every message (RFC 8291 aes128gcm) and checks the VAPID token (RFC 8292) against the sender's key.
"""
