"""The search.

Candidate trees, trees synthesized from the task, width allocation under the budget, the
objective, the rationale, and :func:`~advisor.search.recommend.recommend` that ties them.
"""
