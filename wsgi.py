"""WSGI entry point: ``gunicorn wsgi:app`` (production) or ``flask --app wsgi run`` (development)."""

import gc

from core import create_app

app = create_app()

# What the application built at start-up (models, mappers, compiled templates, reference lists: some
# 270,000 objects) lives as long as the process: moved out of the collector's reach, it is no longer
# scanned again and again by the collections that every page's allocations set off. Measured in one
# process on the bench data (bench/bench_cpu.py does the same): the incident list 8.1 → 6.9 ms a
# request on average, and no more 150 ms pauses of a full collection in the middle of a page.
gc.collect()
gc.freeze()
