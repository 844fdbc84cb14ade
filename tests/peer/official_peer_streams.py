"""Data-stream and RPC commands of official_peer.py, kept apart to keep files small.

`StreamCommands` is mixed into the script's Peer: it expects `self.room` (an rtc.Room)
and `self.emit(obj)` (writes one JSON line), and `_init_streams()` must run in __init__.

Commands (answered like every other command; bad input gives ok:false):
  send_file {path, topic, destination_identities?, attributes?, name?, mime_type?, compress?}
      -> {stream_id, name, mime_type, size, topic, attributes}
      The SDK takes the name from the file's base name and guesses the MIME type from
      it; `name` is honoured by sending through a temporary symlink of that name, and a
      `mime_type` other than the one guessed for the name is refused.
  send_bytes {data_b64, topic, name?, mime_type?, destination_identities?, attributes?,
      compress?} -> {stream_id, name, mime_type, size}          (the SDK's one-shot send_bytes)
  send_bytes_stream {topic, chunks_b64, name?, mime_type?, destination_identities?,
      attributes?, total_length?, abort_reason?} -> {stream_id, size, aborted}
  send_text {text, topic, destination_identities?, attributes?, compress?} -> {stream_id, size}
  stream_text {topic, parts, destination_identities?, attributes?, abort_reason?}
      -> {stream_id, aborted}
  open_byte_stream {topic, name?, mime_type?, total_length?, destination_identities?,
      attributes?} -> {handle, stream_id}
  open_text_stream {topic, destination_identities?, attributes?} -> {handle, stream_id}
  write_chunk {handle, chunk_b64 (byte stream) | text (text stream)}
  close_stream {handle, reason?, attributes?}   (a non-empty reason aborts the stream)
  register_byte_stream_handler {topic, save_dir?}, register_text_stream_handler {topic},
  unregister_byte_stream_handler {topic}, unregister_text_stream_handler {topic}
  perform_rpc {destination, method, payload, response_timeout_ms?}
      -> {response, elapsed_ms} or {rpc_error: {code, message, data}, elapsed_ms}
  register_rpc_method {method, behaviour}, unregister_rpc_method {method}
      behaviour: {"echo": true} | {"response": str} | {"response_size": N}
               | {"error": {code, message, data?}} | {"raise": str} (a plain exception)
               | {"never_answer": true} (the handler waits until the SDK gives up on it)
      any behaviour may add "delay_ms": N (the handler waits that long first)

Events:
  stream_opened {kind, topic, stream_id, identity, name?, mime_type, total_length,
      attributes, opened_index}
  byte_stream_received {topic, identity, stream_id, name, mime_type, total_length,
      attributes, size, chunks, sha256, saved_path, opened_index, closed_index}
  text_stream_received {topic, identity, stream_id, text, attributes, chunks,
      opened_index, closed_index}
  stream_error {kind, topic, identity, stream_id, error, received, opened_index, closed_index}
  rpc_invoked {method, caller, payload, request_id, response_timeout_ms}
  rpc_cancelled {method, caller, request_id, reason} (the SDK cancelled a delayed handler)
opened_index counts handler calls of both kinds from 0; closed_index counts finished
readers (received or failed) from 0.
"""

import asyncio
import base64
import binascii
import hashlib
import mimetypes
import os
import tempfile

from livekit import rtc

MAX_RESPONSE_SIZE = 64 * 1024 * 1024


def checked(c, key, ok, what, required=False):
    """Returns `c[key]` after checking its type, so a bad command is an error, never a crash."""
    value = c.get(key)
    if (value is None and required) or (value is not None and not ok(value)):
        raise ValueError(f"{key} must be {what}")
    return value


def req_str(c, key):
    return checked(c, key, lambda v: isinstance(v, str), "a string", required=True)


def opt_str(c, key):
    return checked(c, key, lambda v: isinstance(v, str), "a string")


def opt_int(c, key):
    is_count = lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0
    return checked(c, key, is_count, "a non-negative integer")


def opt_bool(c, key):
    return checked(c, key, lambda v: isinstance(v, bool), "a boolean")


def opt_str_list(c, key):
    value = c.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key} must be a list of strings")
    return list(value)


def opt_str_map(c, key):
    value = c.get(key)
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ValueError(f"{key} must be an object of strings")
    return dict(value)


def decode_b64(value, key):
    if not isinstance(value, str):
        raise ValueError(f"{key} must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"{key} is not valid base64: {exc}") from None


def with_compress(c, kwargs):
    compress = opt_bool(c, "compress")
    if compress is not None:
        kwargs["compress"] = compress
    return kwargs


def check_behaviour(b):
    """Raises ValueError unless `b` is a behaviour register_rpc_method understands."""
    if not isinstance(b, dict):
        raise ValueError("behaviour must be an object")
    if (opt_int(b, "delay_ms") or 0) < 0:
        raise ValueError("delay_ms must not be negative")
    if b.get("never_answer") is True:
        return
    if "error" in b:
        e = b["error"]
        if not isinstance(e, dict) or isinstance(e.get("code"), bool) or not isinstance(e.get("code"), int):
            raise ValueError("error behaviour needs an integer code")
        req_str(e, "message")
        opt_str(e, "data")
    elif "response_size" in b:
        if (opt_int(b, "response_size") or 0) > MAX_RESPONSE_SIZE:
            raise ValueError(f"response_size above {MAX_RESPONSE_SIZE}")
    elif "response" in b:
        req_str(b, "response")
    elif "raise" in b:
        req_str(b, "raise")
    elif b.get("echo") is not True:
        raise ValueError(f"unknown behaviour {b!r}")


async def run_behaviour(b, payload):
    if b.get("delay_ms"):
        await asyncio.sleep(b["delay_ms"] / 1000)  # a slow handler, as the test asked
    if b.get("never_answer") is True:
        await asyncio.Event().wait()  # never set: the caller's deadline ends the call
    if "error" in b:
        e = b["error"]
        raise rtc.RpcError(e["code"], e["message"], e.get("data"))
    if "response_size" in b:
        return "x" * (b["response_size"] or 0)
    if "response" in b:
        return b["response"]
    if "raise" in b:
        raise RuntimeError(b["raise"])
    return payload


def save_path(save_dir, name, stream_id):
    """A path in save_dir for a received stream; never outside it, never an existing file."""
    base = os.path.basename(name or "")
    if base in ("", ".", ".."):
        base = os.path.basename(stream_id) or "stream"
    path = os.path.join(save_dir, base)
    if os.path.exists(path):
        path = os.path.join(save_dir, f"{os.path.basename(stream_id)}-{base}")
    return path


def error_text(exc):
    if isinstance(exc, rtc.StreamError):
        return exc.description
    return f"{type(exc).__name__}: {exc}"


class StreamCommands:
    def _init_streams(self):
        self._writers = {}  # handle -> ("byte" | "text", writer)
        self._next_handle = 1
        self._opened = 0
        self._closed = 0
        self._tasks = set()

    def _spawn(self, coro):
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _take_opened_index(self):
        self._opened += 1
        return self._opened - 1

    def _take_closed_index(self):
        self._closed += 1
        return self._closed - 1

    # Sending.

    async def cmd_send_file(self, c):
        path = req_str(c, "path")
        if not os.path.isfile(path):
            raise ValueError(f"no such file: {path}")
        name = opt_str(c, "name")
        mime_type = opt_str(c, "mime_type")
        kwargs = with_compress(c, {
            "topic": req_str(c, "topic"),
            "destination_identities": opt_str_list(c, "destination_identities"),
            "attributes": opt_str_map(c, "attributes"),
        })
        effective = name if name is not None else os.path.basename(path)
        guessed = mimetypes.guess_type(effective)[0] or "application/octet-stream"
        if mime_type is not None and mime_type != guessed:
            raise ValueError(f"send_file takes no MIME type: the SDK guesses {guessed!r} "
                             f"from the name {effective!r}; use send_bytes_stream for others")
        lp = self.room.local_participant
        if name is None or name == os.path.basename(path):
            info = await lp.send_file(path, **kwargs)
        else:
            if os.path.basename(name) != name or name in ("", ".", ".."):
                raise ValueError(f"name must be a plain file name: {name!r}")
            with tempfile.TemporaryDirectory(prefix="lk_send_file_") as tmp:
                link = os.path.join(tmp, name)
                os.symlink(os.path.abspath(path), link)
                info = await lp.send_file(link, **kwargs)
        return {"stream_id": info.stream_id, "name": info.name, "mime_type": info.mime_type,
                "size": info.size, "topic": info.topic, "attributes": info.attributes or {}}

    async def cmd_send_bytes(self, c):
        data = decode_b64(c.get("data_b64"), "data_b64")
        info = await self.room.local_participant.send_bytes(data, **with_compress(c, {
            "topic": req_str(c, "topic"),
            "name": opt_str(c, "name"),
            "mime_type": opt_str(c, "mime_type"),
            "destination_identities": opt_str_list(c, "destination_identities"),
            "attributes": opt_str_map(c, "attributes"),
        }))
        return {"stream_id": info.stream_id, "name": info.name, "mime_type": info.mime_type,
                "size": info.size}

    async def _open_bytes(self, c):
        return await self.room.local_participant.stream_bytes(
            opt_str(c, "name") or "unknown",
            total_size=opt_int(c, "total_length"),
            mime_type=opt_str(c, "mime_type") or "application/octet-stream",
            attributes=opt_str_map(c, "attributes"),
            destination_identities=opt_str_list(c, "destination_identities"),
            topic=req_str(c, "topic"),
        )

    async def _open_text(self, c):
        return await self.room.local_participant.stream_text(
            topic=req_str(c, "topic"),
            attributes=opt_str_map(c, "attributes"),
            destination_identities=opt_str_list(c, "destination_identities"),
        )

    async def _write_all_then_close(self, writer, items, abort_reason):
        try:
            for item in items:
                await writer.write(item)
        except Exception:
            try:
                await writer.aclose(reason="sender write failed")
            except Exception:
                pass  # the write error is the one to report
            raise
        await writer.aclose(reason=abort_reason or "")

    async def cmd_send_bytes_stream(self, c):
        chunks = c.get("chunks_b64")
        if not isinstance(chunks, list):
            raise ValueError("chunks_b64 must be a list")
        data = [decode_b64(chunk, "chunks_b64[]") for chunk in chunks]
        abort_reason = opt_str(c, "abort_reason")
        writer = await self._open_bytes(c)
        await self._write_all_then_close(writer, data, abort_reason)
        return {"stream_id": writer.info.stream_id, "size": sum(map(len, data)),
                "aborted": bool(abort_reason)}

    async def cmd_send_text(self, c):
        info = await self.room.local_participant.send_text(req_str(c, "text"), **with_compress(c, {
            "topic": req_str(c, "topic"),
            "destination_identities": opt_str_list(c, "destination_identities"),
            "attributes": opt_str_map(c, "attributes"),
        }))
        return {"stream_id": info.stream_id, "size": info.size}

    async def cmd_stream_text(self, c):
        parts = c.get("parts")
        if not isinstance(parts, list) or not all(isinstance(p, str) for p in parts):
            raise ValueError("parts must be a list of strings")
        abort_reason = opt_str(c, "abort_reason")
        writer = await self._open_text(c)
        await self._write_all_then_close(writer, parts, abort_reason)
        return {"stream_id": writer.info.stream_id, "aborted": bool(abort_reason)}

    # Streams left open across commands.

    def _keep_writer(self, kind, writer):
        handle = self._next_handle
        self._next_handle += 1
        self._writers[handle] = (kind, writer)
        return {"handle": handle, "stream_id": writer.info.stream_id}

    def _writer(self, c):
        handle = c.get("handle")
        if isinstance(handle, bool) or not isinstance(handle, int) or handle not in self._writers:
            raise ValueError(f"no open stream with handle {handle!r}")
        return handle, self._writers[handle]

    async def cmd_open_byte_stream(self, c):
        return self._keep_writer("byte", await self._open_bytes(c))

    async def cmd_open_text_stream(self, c):
        return self._keep_writer("text", await self._open_text(c))

    async def cmd_write_chunk(self, c):
        _, (kind, writer) = self._writer(c)
        if kind == "byte":
            await writer.write(decode_b64(c.get("chunk_b64"), "chunk_b64"))
        else:
            await writer.write(req_str(c, "text"))
        return {}

    async def cmd_close_stream(self, c):
        handle, (_, writer) = self._writer(c)
        reason = opt_str(c, "reason") or ""
        attributes = opt_str_map(c, "attributes")
        del self._writers[handle]
        await writer.aclose(reason=reason, attributes=attributes)
        return {}

    # Receiving.

    def _stream_opened(self, kind, reader, identity):
        info = reader.info
        index = self._take_opened_index()
        event = {"type": "stream_opened", "kind": kind, "topic": info.topic,
                 "stream_id": info.stream_id, "identity": identity,
                 "mime_type": info.mime_type, "total_length": info.size,
                 "attributes": dict(info.attributes or {}), "opened_index": index}
        if kind == "byte":
            event["name"] = info.name
        self.emit(event)
        return index

    def _stream_failed(self, kind, reader, identity, opened_index, exc, received):
        reader.close()  # no-op once the reader has ended
        info = reader.info
        self.emit({"type": "stream_error", "kind": kind, "topic": info.topic,
                   "identity": identity, "stream_id": info.stream_id,
                   "error": error_text(exc), "received": received,
                   "opened_index": opened_index, "closed_index": self._take_closed_index()})

    async def cmd_register_byte_stream_handler(self, c):
        topic = req_str(c, "topic")
        save_dir = opt_str(c, "save_dir")
        if save_dir is not None:
            os.makedirs(save_dir, exist_ok=True)

        def on_stream(reader, identity):
            try:
                index = self._stream_opened("byte", reader, identity)
                self._spawn(self._read_bytes(reader, identity, save_dir, index))
            except Exception as exc:
                self._stream_failed("byte", reader, identity, None, exc, 0)

        self.room.register_byte_stream_handler(topic, on_stream)
        return {}

    async def cmd_register_text_stream_handler(self, c):
        topic = req_str(c, "topic")

        def on_stream(reader, identity):
            try:
                index = self._stream_opened("text", reader, identity)
                self._spawn(self._read_text(reader, identity, index))
            except Exception as exc:
                self._stream_failed("text", reader, identity, None, exc, 0)

        self.room.register_text_stream_handler(topic, on_stream)
        return {}

    async def cmd_unregister_byte_stream_handler(self, c):
        self.room.unregister_byte_stream_handler(req_str(c, "topic"))
        return {}

    async def cmd_unregister_text_stream_handler(self, c):
        self.room.unregister_text_stream_handler(req_str(c, "topic"))
        return {}

    async def _read_bytes(self, reader, identity, save_dir, opened_index):
        info = reader.info
        digest = hashlib.sha256()
        size = chunks = 0
        path = None
        try:
            out = None
            if save_dir is not None:
                path = save_path(save_dir, info.name, info.stream_id)
                out = open(path, "wb")
            try:
                async for chunk in reader:
                    digest.update(chunk)
                    size += len(chunk)
                    chunks += 1
                    if out is not None:
                        out.write(chunk)
            finally:
                if out is not None:
                    out.close()
        except Exception as exc:
            if path is not None and os.path.exists(path):
                os.remove(path)  # no partial files: a failed stream saves nothing
            self._stream_failed("byte", reader, identity, opened_index, exc, size)
            return
        info = reader.info  # the trailer may have added attributes
        self.emit({"type": "byte_stream_received", "topic": info.topic, "identity": identity,
                   "stream_id": info.stream_id, "name": info.name,
                   "mime_type": info.mime_type, "total_length": info.size,
                   "attributes": dict(info.attributes or {}), "size": size, "chunks": chunks,
                   "sha256": digest.hexdigest(), "saved_path": path,
                   "opened_index": opened_index, "closed_index": self._take_closed_index()})

    async def _read_text(self, reader, identity, opened_index):
        parts = []
        try:
            async for chunk in reader:
                parts.append(chunk)
        except Exception as exc:
            received = len("".join(parts).encode("utf-8"))
            self._stream_failed("text", reader, identity, opened_index, exc, received)
            return
        info = reader.info
        self.emit({"type": "text_stream_received", "topic": info.topic, "identity": identity,
                   "stream_id": info.stream_id, "text": "".join(parts),
                   "attributes": dict(info.attributes or {}), "chunks": len(parts),
                   "opened_index": opened_index, "closed_index": self._take_closed_index()})

    # RPC.

    async def cmd_perform_rpc(self, c):
        kwargs = {
            "destination_identity": req_str(c, "destination"),
            "method": req_str(c, "method"),
            "payload": req_str(c, "payload"),
        }
        timeout_ms = opt_int(c, "response_timeout_ms")
        if timeout_ms is not None:
            kwargs["response_timeout"] = timeout_ms / 1000
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            response = await self.room.local_participant.perform_rpc(**kwargs)
        except rtc.RpcError as err:
            return {"rpc_error": {"code": err.code, "message": err.message, "data": err.data},
                    "elapsed_ms": round((loop.time() - started) * 1000)}
        return {"response": response, "elapsed_ms": round((loop.time() - started) * 1000)}

    async def cmd_register_rpc_method(self, c):
        method = req_str(c, "method")
        behaviour = c.get("behaviour")
        check_behaviour(behaviour)

        async def handler(data):
            self.emit({"type": "rpc_invoked", "method": method, "caller": data.caller_identity,
                       "payload": data.payload, "request_id": data.request_id,
                       "response_timeout_ms": round(data.response_timeout * 1000)})
            try:
                return await run_behaviour(behaviour, data.payload)
            except asyncio.CancelledError:
                reason = data.cancel_reason
                self.emit({"type": "rpc_cancelled", "method": method,
                           "caller": data.caller_identity, "request_id": data.request_id,
                           "reason": getattr(reason, "name", reason)})
                raise

        self.room.local_participant.register_rpc_method(method, handler)
        return {}

    async def cmd_unregister_rpc_method(self, c):
        self.room.local_participant.unregister_rpc_method(req_str(c, "method"))
        return {}
