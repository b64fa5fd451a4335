"""gunicorn settings: ``gunicorn -c gunicorn.conf.py "deployapp:create_app()"``."""

import os

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Create the app once, in the master, before forking the workers: the startup
# guard then checks the database once, and a refusal stops gunicorn at once
# instead of each worker failing to boot.
preload_app = True
accesslog = "-"
