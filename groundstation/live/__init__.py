"""The live chain: a stream decoded as it arrives, and the page that shows it.

In: a live stream's samples (:mod:`groundstation.io.streams`). Out: the receiver's events
as they are decided, handed to subscribers (the terminal, the output folder, the live
page); see :mod:`groundstation.live.listen`.
"""
