"""The wheel test.sh built, installed alone in a clean virtualenv (no official SDK, no source
tree on the path), imports and joins a room on the real server."""

import os
import subprocess
import sys
import textwrap
import venv
import zipfile
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent(
    """
    import asyncio, os, sys
    import livekit_core
    from livekit_core import api, rtc

    assert "site-packages" in livekit_core.__file__, livekit_core.__file__
    assert not any(m.startswith("livekit.") for m in sys.modules)

    async def main():
        token = (api.AccessToken(os.environ["KEY"], os.environ["SECRET"]).with_identity("wheel")
                 .with_grants(api.VideoGrants(room_join=True, room=os.environ["ROOM"],
                                              can_update_own_metadata=True)).to_jwt())
        room = rtc.Room()
        changed = asyncio.get_running_loop().create_future()
        room.on("participant_attributes_changed", lambda c, p: changed.done() or changed.set_result(c))
        await room.connect(os.environ["URL"], token)
        await room.local_participant.set_attributes({"from": "wheel"})
        print("changed", await asyncio.wait_for(changed, 10))
        await room.disconnect()

    asyncio.run(main())
    """
)


def _wheel() -> Path:
    path = os.environ.get("LIVEKIT_CORE_WHEEL")
    if not path or not Path(path).exists():
        pytest.fail("no wheel: run bindings/python/test.sh, which builds one", pytrace=False)
    return Path(path)


def test_wheel_is_abi3_and_typed():
    wheel = _wheel()
    assert "-cp39-abi3-" in wheel.name
    names = zipfile.ZipFile(wheel).namelist()
    for expected in ("livekit_core/py.typed", "livekit_core/_native.pyi", "livekit_core/rtc/__init__.py",
                     "livekit_core/api/__init__.py", "livekit_core/rtc/video.py"):
        assert expected in names
    # VP8 is the system libvpx: copied into the wheel beside the extension (maturin with
    # patchelf), or linked into the extension itself (the cross builds link Debian's static
    # libvpx.a, cross/build.sh); either way the wheel needs no libvpx from the machine.
    if not any(n.startswith("livekit_core.libs/libvpx") for n in names):
        wheel_zip = zipfile.ZipFile(wheel)
        extension = next(n for n in names if n.startswith("livekit_core/_native") and n.endswith(".so"))
        code = wheel_zip.read(extension)
        assert b"libvpx.so" not in code, "the extension needs a libvpx the wheel does not carry"
        assert b"WebM Project VP8 Encoder" in code, f"neither a bundled nor a static libvpx: {names}"


def test_fresh_wheel_works_in_a_clean_virtualenv(server, room_name, tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-index",
                    str(_wheel())], check=True)
    env = {"PATH": os.environ["PATH"], "URL": server.url, "KEY": server.api_key, "SECRET": server.api_secret,
           "ROOM": room_name}
    result = subprocess.run([str(python), "-c", SCRIPT], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert "changed {'from': 'wheel'}" in result.stdout
    assert sys.executable != str(python)
