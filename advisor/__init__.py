"""The architecture advisor: separation-rank analysis and search for convolutional networks."""
