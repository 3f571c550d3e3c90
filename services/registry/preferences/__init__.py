"""Users' delivery preferences (time zone, quiet hours): kept here, published for the scheduler."""
