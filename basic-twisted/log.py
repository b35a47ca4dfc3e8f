"""Twisted logging in a few lines (Part 16).

twisted.python.log is the logging API the twistd-run servers of Part 16 use.
A program run by twistd never starts logging itself, because twistd sets up
the log (the terminal with --nodaemon, twistd.log for a daemon). A plain
script has to call log.startLogging, as this one does, to see anything.

Run from the repository root:

    python basic-twisted/log.py

and you should see three log entries, each stamped with the date and time
and a context in brackets: "Log opened.", the message, and the error with
its traceback, ending in "builtins.ZeroDivisionError: division by zero".
"""

import sys

from twisted.python import log

# Send log entries to the terminal; without an observer they go nowhere.
log.startLogging(sys.stdout)

log.msg("This is a log message from basic-twisted/log.py.")

try:
    ratio = 1 / 0
except ZeroDivisionError:
    # log.err() with no Failure logs the exception being handled, traceback
    # and all; the second argument says what we were trying to do.
    log.err(None, "Something went wrong while dividing:")
