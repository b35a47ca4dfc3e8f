"""`make tour PART=N`: one part of the text, run for you in one terminal.

Each part of the text has the learner start servers in three or four
terminals and read them all at once. The tour starts the servers a part
needs, on free ports, draws who talks to whom, then runs the part's commands
in the text's order, each after a line saying what to notice, showing its
output and the server lines that matter, and checking that it did what the
text says. See __main__.py for the command line, runner.py for the engine,
and partNN.py for each part's steps.
"""

from tools.tour import part11, part12, part13, part14, part15, part16, part17, part18

PARTS = {
    part.NUMBER: part
    for part in (part11, part12, part13, part14, part15, part16, part17, part18)
}
