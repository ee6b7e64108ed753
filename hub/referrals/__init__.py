"""Two-way referrals (双向转诊): submission, the Task state machine, timers, letters and statistics.

``machine`` is the state machine as data (no Flask, no SQL); ``service`` runs one transition in one
transaction through the Store; ``submit`` turns a transaction Bundle into a referral; ``operations``
registers the ``$`` operations; ``timers`` checks the SLA clocks and validity; ``letter`` prints the
patient's referral letter; ``stats`` counts flows and closed loops.
"""
