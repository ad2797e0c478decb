"""What administrators keep: accounts (every change a ledger entry), locations and their
barcodes, inventory, the database's append-only roles, and the running site settings.
"""
