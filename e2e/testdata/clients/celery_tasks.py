"""The Celery application of the e2e Celery test.

The broker URL and the task queue come from the environment
(WARREN_CELERY_BROKER, WARREN_CELERY_QUEUE), so each test run has its own
queue; results go back over the rpc:// backend. The worker is started with

    /usr/bin/python3 -m celery -A celery_tasks worker ...

from this directory, and celery_client.py sends the tasks.
"""
import os

from celery import Celery

app = Celery(
    "warren_e2e",
    broker=os.environ["WARREN_CELERY_BROKER"],
    backend="rpc://",
)
app.conf.task_default_queue = os.environ["WARREN_CELERY_QUEUE"]


@app.task
def add(x, y):
    return x + y
