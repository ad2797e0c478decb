"""The lab's rules. Nothing in this package imports Flask or the database."""
