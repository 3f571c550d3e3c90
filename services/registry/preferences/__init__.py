"""Users' delivery preferences (time zone, quiet hours, category and platform opt-outs): kept
here, published for the scheduler, applied at fan-out for platforms."""
