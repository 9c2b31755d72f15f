"""The wire.

The generated gRPC stubs, the one proto <-> model converter and the call metadata the client and
the server share.
"""
