"""Helpers every part of the official SDK's side of livekit-bench shares."""

from livekit import api, rtc


def token(key, secret, room, identity):
    grants = api.VideoGrants(
        room_join=True,
        room=room,
        can_publish=True,
        can_subscribe=True,
        can_publish_data=True,
    )
    return (
        api.AccessToken(key, secret)
        .with_identity(identity)
        .with_name(identity)
        .with_grants(grants)
        .to_jwt()
    )


async def join(url, key, secret, room_name, identity):
    room = rtc.Room()
    await room.connect(url, token(key, secret, room_name, identity))
    return room


def status_kb(field):
    """A kB field of /proc/self/status: VmRSS (resident now), VmHWM (resident peak), RssAnon, RssFile."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")
