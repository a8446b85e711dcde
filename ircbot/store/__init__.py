"""Persistence: SQLModel tables, the database handle and keyword-only store functions."""
