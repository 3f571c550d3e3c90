"""An APNs emulator: Apple's HTTP/2 provider API over TLS, checked the way Apple checks it.

It verifies provider JWTs (ES256, kid, iss, iat) against keys it was given, enforces headers and
payload sizes, answers with Apple's reasons, records what it accepts and plays faults on request.
"""
