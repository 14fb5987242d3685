"""Emulated radio sessions: one contact (``contact``) and the flight's replay (``mission``).

In: an epoch or session number and a scenario. Out: a session folder with the decoded
downlinks, the command log and the scores that the report shows.
"""
