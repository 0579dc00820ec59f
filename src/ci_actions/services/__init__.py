"""Services of one repository: declared once (`.github/ci-actions.yml` or the `services`
input), validated, and selected by the files a change touches (pure; no I/O but reading
whether a context or Dockerfile exists).

model (types, ServicesError), parse (parse_services), select (select, matrix), dump (the
file's text). This module imports nothing, so that `changes` pays for none of it in a
repository without services.
"""

FILE = ".github/ci-actions.yml"
MAX_MATRIX = 256  # GitHub refuses a matrix of more entries
