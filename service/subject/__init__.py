"""Data-subject rights: the record of one participant (art. 15), erasure (art. 17) and retention."""
