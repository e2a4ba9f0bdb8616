"""Personal-data rights: erasure on request, kept out of later loads."""
