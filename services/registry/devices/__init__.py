"""Devices: registering tokens (and who may move one), fanning counted notifications out to a
user's active devices, and what push results change about a device."""
