"""Kubeflow Katib: an experiment read as an advisor search, its designs as trial assignments.

Katib's suggestion controller calls ``GetSuggestions`` with the experiment and asks for
``current_request_number`` new trials, ``total_request_number`` counting every trial asked for so
far, these included (Katib's API: protos/katib/v1beta1/api.proto). The experiment maps to a
search as follows (docs/INTEGRATIONS.md has a sample Experiment):

- ``nas_config.graph_config``: ``input_sizes`` ``[N]``, ``[H, W]``, ``[H, W, C]`` or
  ``[D, H, W, C]`` (a volume or a video) is the input grid (and its channels), ``output_sizes``
  ``[Y]`` the outputs, ``num_layers`` the deepest design (``max_depth``);
- the ``num_filter`` parameters of ``nas_config.operations`` (a categorical or discrete list, or
  an int range) are the widths the designs may use (``channel_choices``); an experiment without
  one is refused;
- ``algorithm.algorithm_settings``: ``task`` (a task preset name, or a task document as base64
  YAML whose ``input`` and ``outputs``, if given, must match ``input_sizes`` and
  ``output_sizes``), ``max_parameters`` (required), ``max_multiply_adds`` and
  ``max_activations`` (optional bounds per input on every design's compute and activations,
  written as ``max_parameters`` is), ``objective`` (weighted or maximin),
  ``time_limit`` (seconds for the whole call, at most :data:`MAX_TIME_LIMIT` to stay under
  Katib's 60 s call timeout), ``seed``, ``learn`` (``true`` or ``false``, the default: see
  below).

Every problem is one :class:`~advisor.errors.FieldViolation` naming the request field
(``experiment.spec.algorithm.algorithm_settings[1].value``, ...), the Budget's and the search's
refusals too, with advice on what the experiment sets (:func:`in_katib_terms`): a bound no
design fits is refused on the setting that sets it, whose raising the advice names first.

The designs are the advisor's ranking (paged past ``top_k``), then, once it ends, distinct
random designs of the search's own space at the budget (seeded; the designs of
``sample_architectures``, drawn through :class:`~advisor.search.draws.SpaceDraws`,
which polls the stop signal), so Katib always gets as many as it asks for while the space
lasts. Position ``total_request_number - current_request_number`` onwards is what a call
returns: rounds continue the sequence without repeats. A :class:`SuggestionCache` keeps each
search's sequence as far as it was computed, so a call continues it instead of computing it
from position 1 again (the service keeps one).

With ``learn`` set to ``true`` (:class:`Learning`), each call also reads the trials' results:
the objective metric's value of every trial that succeeded (:func:`observations`, as Katib's
own algorithms read them) re-ranks the ranked designs not yet tried, of the sequence's first
:attr:`Learning.pool` positions (``max_trial_count``, the designs the experiment's trials can
reach, at least :data:`PAGE_SIZE`) or as far as the call reads
(:func:`~advisor.integrations.learning.rerank_ranks`, as ``AdvisorSampler(learn=True)`` does),
and a call returns the best-predicted first, then the sampled designs in their order. The
re-ranking is the call's own: the kept sequence stays the search's. Out of the sequence's
order, a design handed out whose trial Katib has not made yet is not among the trials: the
:class:`SuggestionCache` remembers what each experiment (by name) was handed at the places
Katib counts, and a call skips what was handed out before its first place, as Katib's own
algorithms remember what they suggested. With :class:`HandedOutFiles` (the service's
``--katib-data-dir``, the volume Katib mounts for an experiment's ``resumePolicy:
FromVolume``) that record is also kept in files, so a restarted service, or an evicted
sequence, reads it back.

The package is one module per job, and re-exports their public names:

- :mod:`~advisor.integrations.katib.experiment`: the experiment read as a search
  (:func:`read_experiment`, :class:`KatibSearch`, :func:`in_katib_terms`, the readers of its
  input, widths and settings);
- :mod:`~advisor.integrations.katib.suggest`: a call's answer (:func:`suggestions`,
  :func:`check_trial_count`);
- :mod:`~advisor.integrations.katib.sequence`: a search's sequence of designs, computed as far
  as asked, and the :class:`SuggestionCache` that keeps it between calls;
- :mod:`~advisor.integrations.katib.records`: what survives a restart (:class:`HandedOutFiles`)
  and the digest that names a search (:func:`search_digest`);
- :mod:`~advisor.integrations.katib.trials`: Katib's trials, the assignments written
  (:func:`suggestion_assignments`) and the designs and values read back
  (:func:`architectures_held`, :func:`observations`).

``suggest`` imports the sequence, the sequence the records and the trials, and each of them the
experiment, which imports none of them: the modules form no import cycle.
"""

from advisor.integrations.katib.experiment import (
    DEFAULT_TIME_LIMIT,
    MAX_TIME_LIMIT,
    SETTINGS,
    KatibSearch,
    Learning,
    Source,
    Suggestion,
    in_katib_terms,
    input_document,
    read_experiment,
    setting_field,
    unread_space,
    width_spaces,
    width_values,
)
from advisor.integrations.katib.records import (
    MAX_HANDED_OUT_FILE_BYTES,
    HandedOutFiles,
    search_digest,
)
from advisor.integrations.katib.sequence import (
    MAX_CACHED_BYTES,
    MAX_CACHED_EXPERIMENTS,
    SuggestionCache,
)
from advisor.integrations.katib.suggest import check_trial_count, suggestions
from advisor.integrations.katib.trials import (
    ARCHITECTURE_ASSIGNMENT,
    architectures_held,
    observations,
    suggestion_assignments,
    template_value,
)

__all__ = [
    "ARCHITECTURE_ASSIGNMENT",
    "DEFAULT_TIME_LIMIT",
    "MAX_CACHED_BYTES",
    "MAX_CACHED_EXPERIMENTS",
    "MAX_HANDED_OUT_FILE_BYTES",
    "MAX_TIME_LIMIT",
    "SETTINGS",
    "HandedOutFiles",
    "KatibSearch",
    "Learning",
    "Source",
    "Suggestion",
    "SuggestionCache",
    "architectures_held",
    "check_trial_count",
    "in_katib_terms",
    "input_document",
    "observations",
    "read_experiment",
    "search_digest",
    "setting_field",
    "suggestion_assignments",
    "suggestions",
    "template_value",
    "unread_space",
    "width_spaces",
    "width_values",
]
