"""Audio commands and track events of official_peer.py, kept apart to keep files small.

`MediaCommands` is mixed into the script's Peer: it expects `self.room` (an rtc.Room)
and `self.emit(obj)`; `_init_media()` must run in __init__ and `_install_media_handlers()`
once the room exists.

Commands (answered like every other command; bad input gives ok:false):
  publish_audio {name, source: "microphone"|"screen_share_audio"|"unknown", sample_rate,
      channels, queue_ms? (AudioSource queue, default 100), dtx?, red?} -> {track_sid}
      A feeder task keeps the source fed in real time (the SDK's capture_frame blocks while
      its queue is full): queued tones, else 10 ms frames of digital silence.
  play_tones {track_sid, tones: [{freq, seconds, amplitude (0..1 of full scale)}], frame_ms?}
      -> {total_seconds} once queued. Sines, phase-continuous within a tone, the same on
      every channel; a last partial frame is padded with silence. Event tones_played
      {track_sid, total_seconds} when the last frame has been captured (it then still sits
      in the source's queue_ms queue).
  mute_track {track_sid, muted}, unpublish_track {track_sid}
  set_subscribed {participant_identity, track_sid, subscribed}
  set_track_subscription_permissions {all_participants_allowed,
      permissions: [{participant_identity, allow_all, allowed_track_sids}]}
  start_recording {participant_identity, track_sid, sample_rate, channels} -> {recording_id}
      Waits up to 10 s for the remote track to be subscribed, then reads an rtc.AudioStream.
  stop_recording {recording_id, tones?, include_pcm?, frequency_for?: {start_ms, end_ms},
      wait_silence_ms?, wait_sound_ms?, wait_timeout_ms?}
      -> {seconds, frames, sample_rate, channels, segments: [{freq, start_ms, end_ms, rms}],
          longest_gap_ms, rms, first_sound_ms, last_sound_ms, first_frame_ms,
          pcm_b64? (interleaved i16 LE), frequency? (of frequency_for), tones_match?}
      wait_silence_ms: before stopping, wait (up to wait_timeout_ms, default 15000) until
      sound has been received and then at least that much silence (10 ms frames below
      SILENCE_RMS): "the sender's program has arrived", without guessing a delay.
      wait_sound_ms: likewise, until at least that much sound has been received (for a
      sender that never stops).
      tones: expected frequencies in order; tones_match tells whether the segments'
      frequencies are those, each within FREQ_TOLERANCE_HZ.

Events (identity = the participant's, track_sid = the publication's sid):
  track_published {identity, track_sid, name, kind, source, muted}
  track_unpublished {identity, track_sid}
  track_subscribed {identity, track_sid, kind}
  track_unsubscribed {identity, track_sid}
  track_subscription_failed {identity, track_sid, error}
  track_muted {identity, track_sid}, track_unmuted {identity, track_sid}
  local_track_published {identity, track_sid, name, kind, source}
  local_track_unpublished {identity, track_sid}
  local_track_subscribed {identity, track_sid}
  active_speakers_changed {identities (the SDK's order, loudest first)}
  connection_quality_changed {identity, quality ("QUALITY_EXCELLENT", ...)}
  participant_permissions_changed {identity, can_subscribe, can_publish, can_publish_data}
  tones_played {track_sid, total_seconds}
The SDK 1.2.1 emits no track_subscription_permission_changed event, so there is none here.

Analysis (the same definitions and thresholds as tests/harness/src/audio_analysis.rs):
  Samples are mixed to mono (mean of the channels) and scaled to full scale (/32768).
  Windows: consecutive, non-overlapping WINDOW_MS = 20 ms; a trailing partial one is ignored.
  A window is silent when its RMS < SILENCE_RMS = 0.01 (-40 dBFS).
  Dominant frequency of a window: mean removed, symmetric Hann window, zero-padded to the
  next power of two >= 8x its length, the largest magnitude bin above DC refined by a
  parabola through the log magnitudes of it and its neighbours.
  Segments: runs of consecutive non-silent windows whose frequencies stay within
  FREQ_TOLERANCE_HZ = 5 Hz of the run's mean; runs shorter than MIN_SEGMENT_WINDOWS = 3
  (60 ms, e.g. a window straddling two tones) are dropped. Then two kept runs within
  FREQ_TOLERANCE_HZ of each other (their means) with no silent window between them are
  merged into one: a short glitch inside a tone does not split it. A segment's freq is the precise
  dominant frequency of all its samples; start_ms/end_ms are its window edges; rms its RMS.
  Precise dominant frequency (segments, frequency_for): the same, zero-padded to the next
  power of two >= max(4x the length, the sample rate); better than 0.5 Hz for >= 0.5 s.
  longest_gap_ms: the longest run of silent windows between the first and last non-silent
  window, x 20 ms (0 without such a run); a 20 ms resolution.
  rms: RMS of the samples of all non-silent windows (0.0 when all are silent); a sine of
  amplitude A has RMS A/sqrt(2). first_sound_ms/last_sound_ms: edges of the first and last
  non-silent windows (null when all are silent).
  first_frame_ms: from start_recording to the first frame the stream delivered.
"""

import asyncio
import base64
import collections
import logging
import time

import numpy as np

from livekit import rtc
from peer_handlers import safe

log = logging.getLogger("official_peer")

WINDOW_MS = 20
SILENCE_RMS = 0.01
FREQ_TOLERANCE_HZ = 5.0
MIN_SEGMENT_WINDOWS = 3
SUBSCRIBE_TIMEOUT = 10.0

SOURCES = {
    "microphone": rtc.TrackSource.SOURCE_MICROPHONE,
    "screen_share_audio": rtc.TrackSource.SOURCE_SCREENSHARE_AUDIO,
    "unknown": rtc.TrackSource.SOURCE_UNKNOWN,
}


# ---------------------------------------------------------------- analysis


def next_pow2(n):
    p = 1
    while p < n:
        p <<= 1
    return p


def dominant_frequency(x, rate, min_fft):
    """The refined peak frequency of `x` (mono floats); see the module docstring."""
    n = len(x)
    if n < 2:
        return 0.0
    x = np.asarray(x, dtype=np.float64)
    x = x - x.mean()
    w = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / (n - 1))
    nfft = next_pow2(max(min_fft, n))
    mag = np.abs(np.fft.rfft(x * w, nfft))
    k = int(np.argmax(mag[1:])) + 1
    delta = 0.0
    if k + 1 < len(mag):
        a, b, c = (np.log(mag[k - 1] + 1e-12), np.log(mag[k] + 1e-12), np.log(mag[k + 1] + 1e-12))
        denom = a - 2.0 * b + c
        if denom < 0:
            delta = 0.5 * (a - c) / denom
    return float((k + delta) * rate / nfft)


def precise_frequency(x, rate):
    return dominant_frequency(x, rate, max(4 * len(x), rate))


def rms(x):
    return float(np.sqrt(np.mean(np.square(x)))) if len(x) else 0.0


def to_mono(pcm, channels):
    """Interleaved int16 -> mono float64 in full-scale units."""
    frames = len(pcm) // channels
    x = pcm[: frames * channels].astype(np.float64).reshape(frames, channels).mean(axis=1)
    return x / 32768.0


def analyze(pcm, rate, channels):
    """The analysis dict (without the recording's own fields) of interleaved int16 `pcm`."""
    x = to_mono(pcm, channels)
    win = rate * WINDOW_MS // 1000
    count = len(x) // win if win else 0
    windows = [x[i * win:(i + 1) * win] for i in range(count)]
    levels = [rms(w) for w in windows]
    loud = [lv >= SILENCE_RMS for lv in levels]

    runs = []  # kept runs: [first, last, mean freq]
    run = None  # [first, last, freqs]

    def close(r):
        if r is not None and r[1] - r[0] + 1 >= MIN_SEGMENT_WINDOWS:
            runs.append([r[0], r[1], sum(r[2]) / len(r[2])])

    for i, w in enumerate(windows):
        if not loud[i]:
            close(run)
            run = None
            continue
        f = dominant_frequency(w, rate, 8 * win)
        if run is not None and abs(f - sum(run[2]) / len(run[2])) <= FREQ_TOLERANCE_HZ:
            run[1] = i
            run[2].append(f)
        else:
            close(run)
            run = [i, i, [f]]
    close(run)

    merged = []  # a glitch (a short run with no silence) inside a tone does not split it
    for r in runs:
        prev = merged[-1] if merged else None
        if (prev is not None and abs(r[2] - prev[2]) <= FREQ_TOLERANCE_HZ
                and all(loud[prev[1] + 1:r[0]])):
            prev[1] = r[1]
        else:
            merged.append(list(r))
    segments = []
    for first, last, _ in merged:
        span = x[first * win:(last + 1) * win]
        segments.append({"freq": precise_frequency(span, rate), "start_ms": first * WINDOW_MS,
                         "end_ms": (last + 1) * WINDOW_MS, "rms": rms(span)})

    loud_idx = [i for i, v in enumerate(loud) if v]
    longest = 0
    if loud_idx:
        gap = 0
        for i in range(loud_idx[0], loud_idx[-1] + 1):
            gap = 0 if loud[i] else gap + 1
            longest = max(longest, gap)
        active = np.concatenate([windows[i] for i in loud_idx])
    else:
        active = np.zeros(0)
    return {
        "segments": segments,
        "longest_gap_ms": longest * WINDOW_MS,
        "rms": rms(active),
        "first_sound_ms": loud_idx[0] * WINDOW_MS if loud_idx else None,
        "last_sound_ms": (loud_idx[-1] + 1) * WINDOW_MS if loud_idx else None,
    }


# ---------------------------------------------------------------- helpers


def num(c, key, default=None, positive=False):
    value = c.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{key} must be a number")
    if positive and value <= 0:
        raise ValueError(f"{key} must be positive")
    return value


def int_arg(c, key, default=None):
    value = c.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{key} must be a positive integer")
    return value


def text(c, key):
    value = c.get(key)
    if not isinstance(value, str):
        raise ValueError(f"{key} must be a string")
    return value


def pub_fields(pub):
    return {"track_sid": pub.sid, "name": pub.name,
            "kind": rtc.TrackKind.Name(pub.kind), "source": rtc.TrackSource.Name(pub.source)}


class Feeder:
    """Keeps one AudioSource fed: queued programs, else silence, 10 ms frames by default."""

    def __init__(self, source, track, rate, channels, track_sid, emit):
        self.source, self.track = source, track
        self.rate, self.channels = rate, channels
        self.track_sid, self.emit = track_sid, emit
        self.programs = collections.deque()  # (frames, total_seconds)
        self.silence_spf = rate // 100
        self.silence = bytes(2 * channels * self.silence_spf)
        self.task = asyncio.get_running_loop().create_task(self.run())

    def queue(self, frames, total_seconds):
        self.programs.append((frames, total_seconds))

    async def run(self):
        try:
            while True:
                if self.programs:
                    frames, total = self.programs.popleft()
                    for data, spf in frames:
                        await self.source.capture_frame(
                            rtc.AudioFrame(data, self.rate, self.channels, spf))
                    self.emit({"type": "tones_played", "track_sid": self.track_sid,
                               "total_seconds": total})
                else:
                    await self.source.capture_frame(
                        rtc.AudioFrame(self.silence, self.rate, self.channels, self.silence_spf))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("feeder of %s failed", self.track_sid)

    async def close(self):
        self.task.cancel()
        try:
            await self.task
        except BaseException:
            pass
        await self.source.aclose()


class Recording:
    """Collects the frames of an AudioStream in the background."""

    def __init__(self, stream, rate, channels):
        self.stream, self.rate, self.channels = stream, rate, channels
        self.chunks = []
        self.frames = 0
        self.started = time.monotonic()
        self.first_frame_ms = None
        self.sound_seen = False
        self.silent_samples = 0  # per channel, since the last loud frame
        self.sound_samples = 0  # per channel, in loud frames
        self.changed = asyncio.Event()
        self.task = asyncio.get_running_loop().create_task(self.run())

    async def run(self):
        async for ev in self.stream:
            frame = ev.frame
            if self.first_frame_ms is None:
                self.first_frame_ms = (time.monotonic() - self.started) * 1000.0
            pcm = np.frombuffer(frame.data, dtype=np.int16).copy()
            self.chunks.append(pcm)
            self.frames += 1
            if rms(to_mono(pcm, self.channels)) >= SILENCE_RMS:
                self.sound_seen = True
                self.silent_samples = 0
                self.sound_samples += frame.samples_per_channel
            else:
                self.silent_samples += frame.samples_per_channel
            self.changed.set()

    async def wait_silence(self, silence_ms, timeout_s):
        needed = self.rate * silence_ms // 1000
        await self._wait(lambda: self.sound_seen and self.silent_samples >= needed, timeout_s,
                         f"no {silence_ms} ms of silence after sound")

    async def wait_sound(self, sound_ms, timeout_s):
        needed = self.rate * sound_ms // 1000
        await self._wait(lambda: self.sound_samples >= needed, timeout_s, f"no {sound_ms} ms of sound")

    async def _wait(self, done, timeout_s, what):
        deadline = time.monotonic() + timeout_s
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{what} within {timeout_s} s (sound seen: {self.sound_seen})")
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), timeout=left)
            except asyncio.TimeoutError:
                pass

    async def stop(self):
        self.task.cancel()
        try:
            await self.task
        except BaseException:
            pass
        await self.stream.aclose()
        return np.concatenate(self.chunks) if self.chunks else np.zeros(0, dtype=np.int16)


class MediaCommands:
    def _init_media(self):
        self._feeders = {}  # track_sid -> Feeder
        self._recordings = {}  # recording_id -> Recording
        self._next_recording = 1
        self._subscriptions = asyncio.Event()  # set on every track_subscribed

    def _install_media_handlers(self):
        room, emit = self.room, self.emit

        @safe
        def track_published(pub, p):
            emit({"type": "track_published", "identity": p.identity, **pub_fields(pub),
                  "muted": pub.muted})

        @safe
        def track_unpublished(pub, p):
            emit({"type": "track_unpublished", "identity": p.identity, "track_sid": pub.sid})

        @safe
        def track_subscribed(track, pub, p):
            self._subscriptions.set()
            emit({"type": "track_subscribed", "identity": p.identity, **pub_fields(pub)})

        @safe
        def track_unsubscribed(track, pub, p):
            emit({"type": "track_unsubscribed", "identity": p.identity, "track_sid": pub.sid})

        @safe
        def track_subscription_failed(p, track_sid, error):
            emit({"type": "track_subscription_failed", "identity": p.identity,
                  "track_sid": track_sid, "error": str(error)})

        @safe
        def track_muted(p, pub):
            emit({"type": "track_muted", "identity": p.identity, "track_sid": pub.sid})

        @safe
        def track_unmuted(p, pub):
            emit({"type": "track_unmuted", "identity": p.identity, "track_sid": pub.sid})

        @safe
        def local_track_published(pub, track):
            emit({"type": "local_track_published",
                  "identity": room.local_participant.identity, **pub_fields(pub)})

        @safe
        def local_track_unpublished(pub):
            emit({"type": "local_track_unpublished",
                  "identity": room.local_participant.identity, "track_sid": pub.sid})

        @safe
        def local_track_subscribed(track):
            emit({"type": "local_track_subscribed",
                  "identity": room.local_participant.identity, "track_sid": track.sid})

        @safe
        def active_speakers_changed(speakers):
            emit({"type": "active_speakers_changed", "identities": [s.identity for s in speakers]})

        @safe
        def connection_quality_changed(p, quality):
            try:
                name = rtc.ConnectionQuality(quality).name
            except Exception:
                name = str(quality)
            emit({"type": "connection_quality_changed",
                  "identity": p.identity if p is not None else None, "quality": name})

        @safe
        def participant_permissions_changed(p, perm):
            emit({"type": "participant_permissions_changed", "identity": p.identity,
                  "can_subscribe": perm.can_subscribe, "can_publish": perm.can_publish,
                  "can_publish_data": perm.can_publish_data})

        for handler in (track_published, track_unpublished, track_subscribed, track_unsubscribed,
                        track_subscription_failed, track_muted, track_unmuted,
                        local_track_published, local_track_unpublished, local_track_subscribed,
                        active_speakers_changed, connection_quality_changed,
                        participant_permissions_changed):
            room.on(handler.__name__, handler)

    async def _close_media(self):
        """Ends recordings and feeders before the room goes, so none outlives it (an abort of
        the SDK's native library at exit was seen once in ~25 runs even so)."""
        recordings, self._recordings = list(self._recordings.values()), {}
        feeders, self._feeders = list(self._feeders.values()), {}
        for item in recordings + feeders:
            try:
                await (item.stop() if isinstance(item, Recording) else item.close())
            except Exception:
                log.exception("closing media failed")

    # Commands

    async def cmd_publish_audio(self, c):
        name = text(c, "name")
        source_name = c.get("source", "microphone")
        if source_name not in SOURCES:
            raise ValueError(f"source must be one of {sorted(SOURCES)}")
        rate, channels = int_arg(c, "sample_rate"), int_arg(c, "channels")
        queue_ms = int_arg(c, "queue_ms", 100)
        source = rtc.AudioSource(rate, channels, queue_size_ms=queue_ms)
        track = rtc.LocalAudioTrack.create_audio_track(name, source)
        options = rtc.TrackPublishOptions(source=SOURCES[source_name])
        for key in ("dtx", "red"):
            if isinstance(c.get(key), bool):
                setattr(options, key, c[key])
        pub = await self.room.local_participant.publish_track(track, options)
        self._feeders[pub.sid] = Feeder(source, track, rate, channels, pub.sid, self.emit)
        return {"track_sid": pub.sid}

    def _feeder(self, c):
        sid = text(c, "track_sid")
        feeder = self._feeders.get(sid)
        if feeder is None:
            raise ValueError(f"no audio track {sid!r} published by this peer")
        return feeder

    async def cmd_play_tones(self, c):
        feeder = self._feeder(c)
        tones = c.get("tones")
        if not isinstance(tones, list) or not tones:
            raise ValueError("tones must be a non-empty list")
        frame_ms = int_arg(c, "frame_ms", 10)
        rate, channels = feeder.rate, feeder.channels
        parts = []
        for t in tones:
            freq = num(t, "freq", positive=True)
            seconds = num(t, "seconds", positive=True)
            amplitude = num(t, "amplitude", 0.5)
            if not 0 <= amplitude <= 1:
                raise ValueError("amplitude must be within 0..1")
            n = int(round(seconds * rate))
            parts.append(amplitude * np.sin(2.0 * np.pi * freq * np.arange(n) / rate))
        mono = np.concatenate(parts)
        spf = rate * frame_ms // 1000
        pad = (-len(mono)) % spf
        mono = np.concatenate([mono, np.zeros(pad)])
        pcm = np.clip(np.round(mono * 32767.0), -32768, 32767).astype(np.int16)
        inter = np.repeat(pcm, channels)  # every channel the same
        step = spf * channels
        frames = [(inter[i:i + step].tobytes(), spf) for i in range(0, len(inter), step)]
        total = float(sum(len(p) for p in parts) / rate)
        feeder.queue(frames, total)
        return {"total_seconds": total}

    async def cmd_mute_track(self, c):
        feeder = self._feeder(c)
        muted = c.get("muted")
        if not isinstance(muted, bool):
            raise ValueError("muted must be a boolean")
        if muted:
            feeder.track.mute()
        else:
            feeder.track.unmute()
        return {}

    async def cmd_unpublish_track(self, c):
        sid = text(c, "track_sid")
        await self.room.local_participant.unpublish_track(sid)
        feeder = self._feeders.pop(sid, None)
        if feeder is not None:
            await feeder.close()
        return {}

    def _remote_publication(self, c):
        identity, sid = text(c, "participant_identity"), text(c, "track_sid")
        p = self.room.remote_participants.get(identity)
        if p is None:
            raise ValueError(f"no remote participant {identity!r}")
        pub = p.track_publications.get(sid)
        if pub is None:
            raise ValueError(f"{identity!r} has no publication {sid!r}")
        return pub

    async def cmd_set_subscribed(self, c):
        subscribed = c.get("subscribed")
        if not isinstance(subscribed, bool):
            raise ValueError("subscribed must be a boolean")
        self._remote_publication(c).set_subscribed(subscribed)
        return {}

    async def cmd_set_track_subscription_permissions(self, c):
        allowed = c.get("all_participants_allowed")
        if not isinstance(allowed, bool):
            raise ValueError("all_participants_allowed must be a boolean")
        perms = []
        for p in c.get("permissions") or []:
            sids = p.get("allowed_track_sids") or []
            if not isinstance(sids, list) or not all(isinstance(s, str) for s in sids):
                raise ValueError("allowed_track_sids must be a list of strings")
            perms.append(rtc.ParticipantTrackPermission(
                participant_identity=text(p, "participant_identity"),
                allow_all=bool(p.get("allow_all", False)), allowed_track_sids=sids))
        self.room.local_participant.set_track_subscription_permissions(
            allow_all_participants=allowed, participant_permissions=perms)
        return {}

    async def _subscribed_publication(self, c):
        """The remote publication `c` names, once its track is subscribed."""
        deadline = time.monotonic() + SUBSCRIBE_TIMEOUT
        while True:
            pub = self._remote_publication(c)
            if pub.track is not None:
                return pub
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"track {pub.sid} not subscribed within {SUBSCRIBE_TIMEOUT} s")
            self._subscriptions.clear()
            try:
                await asyncio.wait_for(self._subscriptions.wait(), timeout=min(left, 0.5))
            except asyncio.TimeoutError:
                pass

    async def cmd_start_recording(self, c):
        rate, channels = int_arg(c, "sample_rate", 48000), int_arg(c, "channels", 1)
        pub = await self._subscribed_publication(c)
        stream = rtc.AudioStream.from_track(track=pub.track, sample_rate=rate, num_channels=channels)
        rid = f"rec{self._next_recording}"
        self._next_recording += 1
        self._recordings[rid] = Recording(stream, rate, channels)
        return {"recording_id": rid}

    async def cmd_stop_recording(self, c):
        rid = text(c, "recording_id")
        rec = self._recordings.get(rid)
        if rec is None:
            raise ValueError(f"no recording {rid!r}")
        if c.get("wait_silence_ms") is not None:
            timeout_s = num(c, "wait_timeout_ms", 15000, positive=True) / 1000.0
            await rec.wait_silence(int_arg(c, "wait_silence_ms"), timeout_s)
        if c.get("wait_sound_ms") is not None:
            timeout_s = num(c, "wait_timeout_ms", 15000, positive=True) / 1000.0
            await rec.wait_sound(int_arg(c, "wait_sound_ms"), timeout_s)
        del self._recordings[rid]
        pcm = await rec.stop()
        result = {"seconds": len(pcm) / rec.channels / rec.rate, "frames": rec.frames,
                  "sample_rate": rec.rate, "channels": rec.channels,
                  "first_frame_ms": rec.first_frame_ms, **analyze(pcm, rec.rate, rec.channels)}
        span = c.get("frequency_for")
        if span is not None:
            x = to_mono(pcm, rec.channels)
            a = int(num(span, "start_ms") * rec.rate / 1000)
            b = int(num(span, "end_ms") * rec.rate / 1000)
            result["frequency"] = precise_frequency(x[max(a, 0):b], rec.rate) if b > a else None
        tones = c.get("tones")
        if tones is not None:
            found = [s["freq"] for s in result["segments"]]
            result["tones_match"] = len(found) == len(tones) and all(
                abs(f - t) <= FREQ_TOLERANCE_HZ for f, t in zip(found, tones))
        if c.get("include_pcm") is True:
            result["pcm_b64"] = base64.b64encode(pcm.astype("<i2").tobytes()).decode("ascii")
        return result
