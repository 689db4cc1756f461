"""crew's exceptions, as the C++ client raises them (crew/error.hpp).

Every message starts with crew's code, "[crew.<family>.<name>] what happened; what to do", and
every exception carries it as ``code`` (``"crew.remote.aborted"``) and ``number`` (``401``), so
code can match codes rather than prose::

    try:
        dv.apply_sync("risky", 3)
    except crew.CompositeError as e:      # several engines failed
        for one in e.errors:               # a RemoteError per engine
            print(one.engine_id, one.remote_type, one.remote_message)
    except crew.RemoteError as e:          # one engine failed
        print(e.code, e.engine_id, e.remote_type)

Where Python has an exception of the same meaning, crew's derives from it too:
``crew.TimeoutError`` is a ``TimeoutError``, ``crew.ConnectionError`` a ``ConnectionError`` and
``crew.InputError`` a ``ValueError``.
"""

import builtins

__all__ = [
    "Error", "ConnectionError", "TimeoutError", "InputError", "ProtocolError", "LaunchError", "MpiError",
    "RemoteError", "EngineError", "TaskAborted", "TaskTimeout", "DependencyError", "CompositeError",
]


class Error(Exception):
    """Root of crew's exceptions."""

    code = "crew.internal"  #: crew's code, "crew.<family>.<name>"
    number = 0  #: its number (``crew errors`` lists them)
    message = ""  #: the message without the "[crew.x.y] " prefix


class ConnectionError(Error, builtins.ConnectionError):
    """The controller cannot be reached, refused this client, or the profile has none."""


class TimeoutError(Error, builtins.TimeoutError):
    """A wait ran past the caller's timeout; the work goes on (``get()`` it later)."""


class InputError(Error, ValueError):
    """Bad input from the caller: a value crew cannot send, bad targets, a bad option."""


class ProtocolError(Error):
    """A message on the wire was rejected."""


class LaunchError(Error):
    """Starting or stopping a cluster failed."""


class MpiError(Error):
    """An MPI routine failed in an engine's world (``routine``, ``error_class``)."""

    routine = ""
    error_class = 0


class RemoteError(Error):
    """A task failed on an engine.

    ``engine_id`` (-1 when it concerns several engines), ``remote_type`` (the C++ exception's type,
    e.g. ``"std::invalid_argument"``), ``remote_message`` and ``context`` (the function's
    signature, the host). ``ename`` and ``evalue`` are ipyparallel's names for the middle two.
    """

    engine_id = -1
    remote_type = ""
    remote_message = ""
    context = ""

    @property
    def ename(self):
        return self.remote_type

    @property
    def evalue(self):
        return self.remote_message


class EngineError(RemoteError):
    """The engine running the task died (its MPI world ended) before the task completed."""


class TaskAborted(RemoteError):
    """The task was dropped before it ran: aborted, or its engines shut down."""


class TaskTimeout(RemoteError):
    """A load-balanced task was not handed to an engine within its own ``timeout``."""


class DependencyError(RemoteError):
    """A dependency of the task failed or can never be met; the task did not run."""


class CompositeError(RemoteError):
    """Several engines failed: ``errors`` holds a RemoteError for each."""

    errors = ()

    @property
    def elist(self):
        return list(self.errors)

    def raise_exception(self, excid=0):
        """Raises the ``excid``-th engine's error as its own type."""
        raise self.errors[excid]
