"""The label print dialog (see ``routes``)."""
