"""crew from Python: steer crew's MPI engines from a script, IPython or Jupyter.

    import numpy as np, crew
    rc = crew.Client()                            # or crew.Client(profile="hpc"), crew.Client("controller.json")
    rc.ids                                        # [0, 1, 2, 3]
    dv = rc[:]                                    # a DirectView of every engine
    dv.apply_sync("summary")                      # a list, in engine order
    amr = rc.load_balanced_view().map("price", spots, chunksize=100)
    for y in amr: ...                             # as results arrive
    dv.scatter("x", np.arange(10**8, dtype="f8")) # NumPy arrays go without a copy
    x = dv.gather("x", block=True)                # a read-only NumPy array over the received bytes

Engines run C++ functions registered with CREW_FUNCTION (``crew functions`` lists them); the
names, views and results follow ipyparallel's.
"""

from . import errors
from ._crew import (
    AsyncMapResult,
    AsyncResult,
    Client,
    Dependency,
    DirectView,
    LoadBalancedView,
    Object,
    Ref,
    __version__,
)
from .errors import (
    CompositeError,
    ConnectionError,
    DependencyError,
    EngineError,
    Error,
    InputError,
    LaunchError,
    MpiError,
    ProtocolError,
    RemoteError,
    TaskAborted,
    TaskTimeout,
    TimeoutError,
)
from .flags import temp_flags as _temp_flags
from .outputs import display_outputs as _display_outputs
from .progress import wait_interactive as _wait_interactive

AsyncResult.wait_interactive = _wait_interactive
AsyncMapResult.wait_interactive = _wait_interactive
AsyncResult.display_outputs = _display_outputs
AsyncMapResult.display_outputs = _display_outputs
LoadBalancedView.temp_flags = _temp_flags

__all__ = [
    "Client", "DirectView", "LoadBalancedView", "AsyncResult", "AsyncMapResult", "Dependency", "Ref", "Object",
    "Error", "ConnectionError", "TimeoutError", "InputError", "ProtocolError", "LaunchError", "MpiError",
    "RemoteError", "EngineError", "TaskAborted", "TaskTimeout", "DependencyError", "CompositeError", "errors",
]

for _cls in (AsyncMapResult, AsyncResult, Client, Dependency, DirectView, LoadBalancedView, Object, Ref):
    _cls.__module__ = "crew"  # as users name them: crew.Client, not crew._crew.Client
del _cls
