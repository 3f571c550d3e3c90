"""Apps (tenants): their keys and credentials, managed with the ``herald`` CLI, owned here."""
