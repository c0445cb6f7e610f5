"""Web captures: the server records a web page, a video or a live stream in a clean browser.

- ``proxy``: the only way out of the recording browser; refuses private addresses
  (after every redirect and DNS answer) and notes every DNS answer.
- ``browser``: one disposable desktop (Xvfb, PulseAudio null sink, Chromium, ffmpeg).
- ``record``: what each mode does, and the files it keeps; run in a child process.
- ``warc``: the browser's HAR as a WARC (warcio).
- ``tasks``: the user's tasks and their states, in the database.
- ``runner``: the queue that starts recordings, at most N at once, and stores results.
"""
