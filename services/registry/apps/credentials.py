"""The provider credentials an operator stores for an app (``herald credentials set``, and the
local stack's provisioning), by the names the CLI's kinds use. Each is checked by its platform's
own rules in ``shared/platforms`` — the rules the dispatcher parses them with — before it is sealed.
"""

from __future__ import annotations

from shared.platforms.apns.credentials import ENVIRONMENTS
from shared.platforms.apns.credentials import certificate_credential as apns_certificate
from shared.platforms.apns.credentials import token_credential as apns_token
from shared.platforms.fcm.credentials import service_account_credential as fcm_service_account
from shared.platforms.webpush.credentials import vapid_credential as vapid

__all__ = [
    "ENVIRONMENTS",
    "apns_certificate",
    "apns_token",
    "fcm_service_account",
    "vapid",
]
