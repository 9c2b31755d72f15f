"""The gRPC service: servicer, error mapping, limits and server lifecycle (the only grpc user)."""
