# Alembic settings for this migrations directory.
#
# `flask db ...` reads this file when it is present. It also lets you run plain
# Alembic from this directory, for example `alembic upgrade head`.

[alembic]
script_location = %(here)s
# Where to import the Flask app from when plain `alembic` runs.
prepend_sys_path = ${sys_path}
path_separator = os

# The Flask app env.py builds when plain `alembic` runs: an import path as for
# `flask --app`, e.g. `mypackage:create_app`. When empty, FLASK_APP is used.
flask_app = ${flask_app}

# The name of new revision files; the default is %%(rev)s_%%(slug)s.
# file_template = %%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s

# Set to a zone name (e.g. UTC) to write `Create Date` in that zone.
# timezone =

# Commands to run on each new revision file, e.g. a formatter, so that the
# generated code matches your style. To format with ruff (on the PATH of the
# commands that write revisions), take the `# ` off these lines:
# [post_write_hooks]
# hooks = ruff
# ruff.type = exec
# ruff.executable = ruff
# ruff.options = format REVISION_SCRIPT_FILENAME
