"""Herald's services; each runs alone with ``python -m services.<name>`` and imports no other."""
