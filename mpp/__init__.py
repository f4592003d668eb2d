"""The ``mpp`` command line."""
