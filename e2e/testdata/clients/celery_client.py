"""Sends 100 add(i, i) tasks to the worker and waits for every result.

Usage: WARREN_CELERY_BROKER=URL WARREN_CELERY_QUEUE=QUEUE \
    /usr/bin/python3 celery_client.py

Prints one JSON line: {"results": [...]} in task order.
"""
import json

from celery_tasks import add

N = 100


def main():
    pending = [add.delay(i, i) for i in range(N)]
    results = [r.get(timeout=40) for r in pending]
    print(json.dumps({"results": results}))


main()
