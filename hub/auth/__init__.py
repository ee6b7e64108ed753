"""Who is asking: machine clients (SMART Backend Services), human users, and what they may do."""
