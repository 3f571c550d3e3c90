"""Registry: owns device registrations and fans counted notifications out to user devices."""
