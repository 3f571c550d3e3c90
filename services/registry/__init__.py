"""Registry: owns apps, devices and users' preferences; fans counted notifications out to devices
and turns reads into badge sync. One folder per feature (``apps``, ``devices``, ``preferences``,
``reads``), wired together in ``app.py``."""
