"""`make bench`: the load generator, the asyncio reference servers, the runner.

Run it as `python -m bench` from the repository root (see bench/run.py).
"""
