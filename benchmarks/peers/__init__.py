"""Django settings and URLconfs of the peers measured beside oauth_cc.

Each is a copy of the demo's settings (same middleware, cache, logging and database engine)
with the peer's app added, its own URLconf, and its own database: a fresh SQLite file (set
by the benchmark process through ``DATABASE_URL``), or the ``DATABASE_URL`` PostgreSQL
database when the run is on PostgreSQL.
"""
