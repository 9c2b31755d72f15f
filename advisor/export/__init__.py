"""Export a recommendation: the architecture file and report documents, and the PyTorch module."""
