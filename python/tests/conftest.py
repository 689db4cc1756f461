"""Fixtures of crew's Python tests: a real cluster (controller + one mpirun world of engines) per
test module, started with the `crew` of the build and stopped when the module ends, also when its
tests fail.

ctest runs each module under crew-test-guard, which gives it a private $CREW_HOME and ends any
process left behind; run by hand (python3 -m pytest python/tests), the fixtures make a temporary
$CREW_HOME themselves. Environment: CREW_PROGRAM (the crew program), CREW_TEST_PLUGIN (the demo
functions' plugin), PYTHONPATH (the build's python/ directory); under AddressSanitizer also
LD_PRELOAD and CREW_TEST_CREW_ASAN_OPTIONS (tests/CMakeLists.txt).
"""

import os
import shutil
import subprocess
import tempfile

import pytest

import crew

ENGINES = 4


def crew_program():
    program = os.environ.get("CREW_PROGRAM") or shutil.which("crew")
    if not program:
        pytest.exit("set CREW_PROGRAM to the crew program (ctest does)", returncode=2)
    return program


def demo_plugin():
    plugin = os.environ.get("CREW_TEST_PLUGIN")
    if not plugin or not os.path.exists(plugin):
        pytest.exit("set CREW_TEST_PLUGIN to libcrew_demo_functions.so (ctest does)", returncode=2)
    return plugin


def crew_environment():
    """The environment of the crew processes a test starts. Under AddressSanitizer (ctest sets
    CREW_TEST_CREW_ASAN_OPTIONS), python runs with ASan's runtime preloaded and no leak check;
    crew's own processes get neither."""
    env = dict(os.environ)
    if "CREW_TEST_CREW_ASAN_OPTIONS" in env:
        env.pop("LD_PRELOAD", None)
        env["ASAN_OPTIONS"] = env["CREW_TEST_CREW_ASAN_OPTIONS"]
    return env


class Cluster:
    """A cluster of `engines` engines in one world, with the demo functions loaded."""

    def __init__(self, profile, engines=ENGINES, extra=()):
        self.profile = profile
        self.engines = engines
        self.extra = list(extra)
        self.crew = crew_program()
        self.env = crew_environment()

    def run(self, *args, timeout=120):
        return subprocess.run([self.crew, *args, "--profile", self.profile], env=self.env, capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def start(self):
        done = self.run("cluster", "start", "-n", str(self.engines), "--plugin", demo_plugin(), *self.extra)
        if done.returncode != 0:
            raise RuntimeError("crew cluster start failed:\n" + done.stdout + done.stderr)

    def stop(self):
        done = self.run("cluster", "stop")
        if done.returncode != 0:
            raise RuntimeError("crew cluster stop failed:\n" + done.stdout + done.stderr)

    def client(self, **options):
        return crew.Client(profile=self.profile, **options)


@pytest.fixture(scope="session", autouse=True)
def crew_home():
    """$CREW_HOME: the guard's under ctest, else a temporary one removed at the end."""
    if os.environ.get("CREW_HOME"):
        yield os.environ["CREW_HOME"]
        return
    home = tempfile.mkdtemp(prefix="crew-pytest.")
    os.environ["CREW_HOME"] = home
    try:
        yield home
    finally:
        del os.environ["CREW_HOME"]
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster(request, crew_home):
    c = Cluster("py-" + request.module.__name__.replace("_", "-"))
    c.start()
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="module")
def rc(cluster):
    client = cluster.client()
    client.wait_for_engines(cluster.engines, timeout=60)
    try:
        yield client
    finally:
        client.close()
