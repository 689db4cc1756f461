"""The quickstart example (examples/python/quickstart.py) runs against a real cluster."""

import os
import subprocess
import sys

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "python", "quickstart.py")


def test_quickstart_runs(cluster):
    done = subprocess.run([sys.executable, EXAMPLE, "--profile", cluster.profile], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "engines: [0, 1, 2, 3]" in out
    assert "rc[:].apply_sync('mul', 5, 6) = [30.0, 30.0, 30.0, 30.0]" in out
    assert "[2.0, 6.0, 12.0, 20.0, 30.0, 42.0, 56.0, 72.0, 90.0]" in out
    assert "400/400 items finished" in out
    assert "pieces per engine: [4, 4, 4, 4]" in out
    assert "caught crew.remote.exception from engine 0" in out
