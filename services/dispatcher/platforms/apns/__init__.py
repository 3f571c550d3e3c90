"""Apple Push Notification service over HTTP/2 via aioapns: token (.p8) or certificate auth."""
