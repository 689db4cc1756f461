"""LoadBalancedView.temp_flags: flags for the tasks submitted inside a ``with`` block."""

import contextlib


@contextlib.contextmanager
def temp_flags(self, **flags):
    """Sets these flags (after, follow, timeout, retries, require, block) inside the block, and
    restores the previous ones when it ends, also if it raises::

        with lbv.temp_flags(after=[ar], retries=2):
            lbv.apply("report")
    """
    saved = self.flags
    try:
        self.set_flags(**flags)  # all or none: a bad flag changes nothing
        yield self
    finally:
        self.set_flags(**saved)
