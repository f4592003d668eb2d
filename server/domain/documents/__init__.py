"""Issued electronic documents: PDF rendering, PAdES signing (pyHanko) and verification.

Kept out of ``protocol/`` (no wire shapes here) and free of HTTP, so that the
``mpp verify`` command can check a printed file's PDF without a server.
"""
