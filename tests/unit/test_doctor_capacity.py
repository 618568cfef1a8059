"""doctor's capacity warnings: pure logic over a `docker info` dict (no engine needed)."""

from helpers import preflight


def _info(**over):
    base = {
        "NCPU": 4,
        "MemTotal": 8 * 1024**3,
        "Driver": "overlay2",
        "DriverStatus": [],
        "DockerRootDir": "/",
    }
    base.update(over)
    return base


def test_a_roomy_engine_has_no_warnings():
    items = preflight.capacity_items(_info())
    by = {i.name: i for i in items}
    assert by["cpus"].ok and by["engine memory"].ok and by["image store"].ok
    assert all(not i.required for i in items)  # warnings never make doctor fail


def test_small_engine_warns_and_says_what_will_not_work():
    items = {i.name: i for i in preflight.capacity_items(_info(NCPU=1, MemTotal=2 * 1024**3))}
    assert not items["cpus"].ok and "exercise 05" in items["cpus"].fix
    assert not items["engine memory"].ok and "Postgres" in items["engine memory"].fix


def test_containerd_image_store_is_named():
    info = _info(Driver="overlayfs", DriverStatus=[["driver-type", "io.containerd.snapshotter.v1"]])
    item = {i.name: i for i in preflight.capacity_items(info)}["image store"]
    assert not item.ok and "containerd" in item.detail and "lesson 01" in item.fix


def test_api_below_1_44_is_not_enough():
    assert preflight.MIN_API == (1, 44)
