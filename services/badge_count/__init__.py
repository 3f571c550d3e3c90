"""Badge-count: owns every user's unread count and stamps it on each visible push."""
