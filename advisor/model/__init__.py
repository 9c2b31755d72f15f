"""The task and architecture models.

Grids, regions, presets, tasks, architectures, budgets and the result types, with their file
formats. Pure pydantic and numpy: nothing here knows the engine or the search, so the client
library can import it cheaply.
"""
