"""What every implementation shares: schemas, errors, settings, hashing, statement counting.

Imported by every implementation; imports none of them.
"""
