"""blockstore: what the blocklist services share.

store     the SQLite store of collected addresses (schema, add, stats, check)
settings  settings read from the environment (version, host, port, database path)
web       the JSON WSGI application both services serve (/health, /version, their routes)
"""
