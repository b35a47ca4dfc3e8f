"""`make bench`: the tutorial's servers under load, beside plain asyncio.

Run it as `python -m bench` from the repository root; bench/README.md says
what it measures, how, and where each target stands.
"""
