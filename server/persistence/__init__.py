"""The database: engine, models, migrations and the submission writers."""
