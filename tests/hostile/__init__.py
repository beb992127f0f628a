"""A corpus of hostile and damaged stores, and the harness that attacks a reader with it."""
