"""The web console: compose, preview and send notifications, follow them, and operate an app, over
the other services' HTTP APIs with the signed-in app key (never their databases)."""
