"""What search means here, without I/O: how text becomes terms, and how a post's events fold into
the state the index holds."""
