"""Python client library and the ``advisor`` command line for the architecture advisor."""
