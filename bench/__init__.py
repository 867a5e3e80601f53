"""The platform benchmark of issue 7: seed a dataset through the event log, then load the gateway.

`python -m bench` (see bench/README.md) runs it on each bus and writes bench/results/.
"""
