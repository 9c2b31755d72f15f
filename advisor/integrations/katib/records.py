"""What learning calls handed out, kept in files across restarts, and the search's digest.

:class:`HandedOutFiles` keeps each experiment's record (the places Katib counts and the designs
handed out there) in the volume Katib mounts for ``resumePolicy: FromVolume``;
:func:`search_digest` names a search, for the records and the
:class:`~advisor.integrations.katib.sequence.SuggestionCache`'s sequences alike.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from advisor.files import read_bounded, read_problem, replace_file
from advisor.integrations.katib.experiment import KatibSearch
from advisor.stdout import shown_path

__all__ = [
    "MAX_HANDED_OUT_FILE_BYTES",
    "HandedOutFiles",
    "search_digest",
    "whole_search_digest",
]

MAX_HANDED_OUT_FILE_BYTES: Final = 16 * 2**20
"""Most bytes of a :class:`HandedOutFiles` file read: a record holds at most the server's
``max_katib_designs`` places at ~75 bytes each (~75 KB at the default 1,000, over 200,000 in
16 MiB); a larger file is no record the service wrote."""

_RECORD_PREFIX: Final = ".handed-out-"
"""How a :class:`HandedOutFiles` record's next version is named before its ``os.replace``."""
_PROBE_PREFIX: Final = ".probe-"
"""How the file :meth:`HandedOutFiles.check_writable` makes and removes is named."""
_TEMPORARY_PREFIXES: Final = (_RECORD_PREFIX, _PROBE_PREFIX)
"""The temporary files' names' beginnings: one a crash left is removed at start. A service of a
namespace follows them with its :func:`_namespace_tag` and a dot, the random part with no dot."""

_HANDED_OUT_FORMAT: Final = 1
"""The version of the :class:`HandedOutFiles` format written; a file of another is not read."""
_SHA256_HEX: Final = re.compile(r"[0-9a-f]{64}")

_LOGGER = logging.getLogger(__name__)


class HandedOutFiles:
    """The suggestions learning calls handed out, kept in ``directory``: one file per experiment.

    Katib's ``resumePolicy: FromVolume`` mounts a volume of the experiment's own into its
    suggestion service (at ``/opt/katib/data`` unless katib-config's ``volumeMountPath`` says
    otherwise) and keeps it while the experiment lives, so a service restarted on it finds what
    it kept there: with this, a restarted service (or a sequence the cache evicted) still
    skips the designs handed out before, whose trials Katib may not have made yet.

    A record is one experiment's places and the designs handed out there, each as a sha256 of
    its architecture JSON (:meth:`DesignSequence.hand_out`), on one search: the designs themselves,
    since a restarted service's ranking, cut by its time limit under another load, may put
    them at other positions. Its file is named by a digest of the search, the service's
    ``namespace`` (when given) and the experiment's name, which the request gives and must not
    choose a path with (``../x``): Katib's request names the experiment, not its namespace, and
    the suggestion service runs in the experiment's namespace, so that namespace, given to the
    service, keeps apart two experiments of one name whose services share a directory. The file
    holds them and its format's version (``{"format": 1, "namespace": ..., "experiment": ...,
    "search": ..., "handed": [[place, sha256], ...]}``, no ``namespace`` without one), and a
    file that does not name what it is read for, is of another format or is no record, is not
    read. With a ``namespace``, an experiment that has no record under it yet reads the one
    written without a namespace (by a service started without one, as before it had the
    option), so an upgrade keeps a running experiment's record; the next write goes under the
    namespace, and the old file is left for any other namespace's experiment of that name.
    Written atomically (a temporary file in the directory, synced, then ``os.replace`` and the
    directory synced where the platform allows it), so a service stopped in the middle leaves
    the previous record whole; the temporary files a stopped service left are removed at the
    next start (:meth:`remove_temporary_files`). A file that cannot be read is logged at ERROR
    naming it and read as no record (the experiment's record starts afresh); one that cannot be
    written is logged too, and the record stays in memory. Either way the call goes on. Not
    thread-safe per record: the caller holds the record's sequence.
    """

    def __init__(self, directory: Path, namespace: str = "") -> None:
        self.directory = directory
        self.namespace = namespace

    def check_writable(self) -> None:
        """Create and remove a file in the directory, as a record's write does.

        Raises
        ------
        OSError
            When the directory does not exist, is not one, or refuses a new file.
        """
        prefix = self._temporary_prefix(_PROBE_PREFIX)
        descriptor, name = tempfile.mkstemp(dir=self.directory, prefix=prefix)
        os.close(descriptor)
        os.unlink(name)

    def remove_temporary_files(self) -> None:
        """Remove the temporary files a stopped service left in the directory (see above).

        A service killed between a record's temporary file and its ``os.replace`` (or in
        :meth:`check_writable`) leaves one behind, each as large as a record, and nothing else
        would remove it. Only files of those names are removed (a directory of such a name is
        none of this class's), and with a namespace only its own and those of a service without
        one (as it was before the option): a directory shared by the services of two namespaces
        keeps the other's, whose write may be in progress. One that cannot be is logged at
        WARNING.
        """
        tag = None if not self.namespace else f"{_namespace_tag(self.namespace)}."
        for prefix in _TEMPORARY_PREFIXES:
            for path in self.directory.glob(f"{prefix}*"):
                rest = path.name[len(prefix) :]
                own = "." not in rest or (tag is not None and rest.startswith(tag))
                if not own or not path.is_file():
                    continue
                try:
                    path.unlink()
                except OSError as error:
                    _LOGGER.warning(
                        "cannot remove %s, left by a stopped service: %s", shown_path(path), error
                    )

    def path(self, search: str, experiment: str, namespace: str | None = None) -> Path:
        """Return the file of ``experiment``'s record on the search of digest ``search``.

        In ``namespace``, this service's unless given (``""``: the name a service without one
        gives, as every service did before the option).
        """
        namespace = self.namespace if namespace is None else namespace
        names = [search, namespace, experiment] if namespace else [search, experiment]
        key = json.dumps(names).encode()
        return self.directory / f"handed-out-{hashlib.sha256(key).hexdigest()}.json"

    def read(self, search: str, experiment: str) -> dict[int, str]:
        """Return the record of ``experiment`` on ``search``: place -> design digest ({}: none).

        Under this service's namespace, else (none there) as a service without one wrote it.
        A file that cannot be read or holds no record for them is logged and read as none.
        """
        namespaces = (self.namespace, "") if self.namespace else ("",)
        for namespace in namespaces:
            record = self._read(search, namespace, experiment)
            if record:
                return record
        return {}

    def _read(self, search: str, namespace: str, experiment: str) -> dict[int, str]:
        """Return the record of ``experiment`` of ``namespace`` on ``search`` (see :meth:`read`)."""
        path = self.path(search, experiment, namespace)
        try:
            text = read_bounded(path, MAX_HANDED_OUT_FILE_BYTES, "a record")
            return _handed_out_record(json.loads(text), search, namespace, experiment)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, RecursionError) as error:
            _LOGGER.error(
                "Katib experiment %s: cannot read what was handed out from %s (%s); its record "
                "starts afresh, so a design handed out before whose trial Katib has not made "
                "yet may be handed out again",
                self._named(experiment),
                shown_path(path),
                read_problem(error),
            )
            return {}

    def write(self, search: str, experiment: str, record: Mapping[int, str]) -> None:
        """Replace the file of ``experiment``'s record on ``search`` with ``record``, atomically.

        A failure (a full volume) is logged: the call's answer stands, the record stays in
        memory, and the next call's write tries again.
        """
        path = self.path(search, experiment)
        namespace = {"namespace": self.namespace} if self.namespace else {}
        document = {
            "format": _HANDED_OUT_FORMAT,
            **namespace,
            "experiment": experiment,
            "search": search,
            "handed": sorted(record.items()),
        }
        try:
            text = json.dumps(document, separators=(",", ":"))
            replace_file(path, text, self._temporary_prefix(_RECORD_PREFIX))
        except OSError as error:
            _LOGGER.error(
                "Katib experiment %s: cannot write what was handed out to %s (%s); a restarted "
                "service would not know it",
                self._named(experiment),
                shown_path(path),
                read_problem(error),
            )

    def _temporary_prefix(self, prefix: str) -> str:
        """Return how this service's temporary files of ``prefix`` begin (see above)."""
        return f"{prefix}{_namespace_tag(self.namespace)}." if self.namespace else prefix

    def _named(self, experiment: str) -> str:
        """Return ``experiment`` as a log names it: quoted, after this service's namespace."""
        return f"{self.namespace}/{experiment!r}" if self.namespace else repr(experiment)


def _namespace_tag(namespace: str) -> str:
    """Return what names ``namespace`` in a temporary file's name: 16 hex digits of a sha256.

    Any text names no path and has no dot, which ends the tag.
    """
    return hashlib.sha256(namespace.encode()).hexdigest()[:16]


def _handed_out_record(
    document: object, search: str, namespace: str, experiment: str
) -> dict[int, str]:
    """Return the record a :class:`HandedOutFiles` file holds for ``experiment`` on ``search``.

    Of ``namespace`` (``""``: a record written without one holds no ``namespace``).

    Raises
    ------
    ValueError
        Saying what is wrong: no record, one of another format (an earlier advisor's, which
        kept positions), namespace, experiment or search, a bad entry.
    """
    if not isinstance(document, dict) or not isinstance(document.get("handed"), list):
        raise ValueError("not a record: no 'handed' list")
    expected_values = (
        ("format", _HANDED_OUT_FORMAT, None),
        ("namespace", namespace, ""),
        ("experiment", experiment, None),
        ("search", search, None),
    )
    for key, expected, absent in expected_values:
        found = document.get(key, absent)
        if found != expected:
            raise ValueError(f"its {key} is {found!r}, not {expected!r}")
    record: dict[int, str] = {}
    for entry in document["handed"]:
        if not (
            isinstance(entry, list)
            and len(entry) == 2
            and type(entry[0]) is int
            and entry[0] >= 0
            and isinstance(entry[1], str)
            and _SHA256_HEX.fullmatch(entry[1])
        ):
            raise ValueError(f"{entry!r} is no [place, design sha256] pair")
        record[entry[0]] = entry[1]
    return record


def search_digest(search: KatibSearch) -> str:
    """Return a digest of everything that decides the search's sequence: its task and budget.

    The experiment's trials, its ``learn`` setting and its name do not decide it (they only
    pick which of its designs a call returns), nor does the call's stop signal (it only stops
    the work). The task's and the budget's fields are those at values other than their
    defaults: a field a later advisor adds, at its default, leaves the digest as it was, so a
    service upgraded on the experiments' volume finds their records. Dumped whole, every field
    added (a correlation's ``relation``, a budget option) renamed every record, and the upgraded
    service, finding none, could hand out again a design whose trial Katib had not made yet.
    """
    return _digest_of(search, exclude_defaults=True)


def whole_search_digest(search: KatibSearch) -> str:
    """Return the digest records were named by before :func:`search_digest` left defaults out.

    The task and the budget dumped whole, as this advisor dumps them: what an advisor of the
    same fields wrote, whose records a service upgraded to this one reads under that name.
    """
    return _digest_of(search, exclude_defaults=False)


def _digest_of(search: KatibSearch, *, exclude_defaults: bool) -> str:
    """Return a sha256 of the search's task and budget as JSON (see :func:`search_digest`)."""
    document = [
        search.task.model_dump(mode="json", exclude_defaults=exclude_defaults),
        search.budget.model_dump(mode="json", exclude_defaults=exclude_defaults),
    ]
    text = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
