"""Out of band: the Matrix room a live incident moves to when Slack itself may be compromised."""
