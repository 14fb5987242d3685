"""Reports: the session and mission pages a person opens in a browser.

In: a session's or a mission's results. Out: self-contained ``report.html`` and
``mission.html`` pages with their figures.
"""
