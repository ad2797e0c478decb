"""The bench: resolving what was scanned (units, locations, wristbands) into what the user
may do now, moves by "scan unit, scan location", and label printing with its reconciliation.
"""
