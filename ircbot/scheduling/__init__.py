"""Waking the process when escalation steps fall due; the steps themselves live in the database."""
