"""Code shared by every WedSync Analytics function: settings, database and queue access, the event catalog."""
