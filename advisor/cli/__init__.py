"""The ``advisor`` command line.

A thin layer on the client library, with an in-process server when no ``--target`` is given.
"""
