"""``python -m advisor``: the command-line program, as the ``advisor`` console script runs it.

For environments where the console script is not on ``PATH`` (a virtualenv not activated, a
notebook's kernel): the same parser, prog name and exit statuses.
"""

import sys

from advisor.entry import advisor

sys.exit(advisor())
