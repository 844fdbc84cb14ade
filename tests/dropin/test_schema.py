"""Our .proto files against the schema built into the official Python SDK.

Every message, enum and field we declare must exist in the official schema with the same
number, type, label and oneof; that is what makes the two libraries interchangeable on the wire.
Our files may declare less than the official ones, never something different.
"""

import importlib
import pathlib
import subprocess

from google.protobuf import descriptor_pb2

PROTO_DIR = pathlib.Path(__file__).resolve().parents[2] / "livekit-ffi" / "proto"
OFFICIAL_MODULES = [
    "ffi", "handle", "room", "participant", "track", "data_stream", "rpc", "e2ee", "audio_frame", "video_frame",
    "track_publication", "stats",
]


def _our_files(tmp_path):
    out = tmp_path / "ours.pb"
    protos = sorted(p.name for p in PROTO_DIR.glob("*.proto"))
    subprocess.run(
        ["protoc", f"-I{PROTO_DIR}", f"--descriptor_set_out={out}", *protos],
        check=True,
    )
    files = descriptor_pb2.FileDescriptorSet()
    files.ParseFromString(out.read_bytes())
    return files.file


def _official_files():
    files = {}
    for name in OFFICIAL_MODULES:
        module = importlib.import_module(f"livekit.rtc._proto.{name}_pb2")
        proto = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(proto)
        files[proto.name] = proto
    return files


def _index(files):
    """Full name -> message or enum descriptor proto, nested ones included."""
    index = {}

    def add_messages(prefix, messages):
        for message in messages:
            name = f"{prefix}.{message.name}"
            index[name] = message
            add_messages(name, message.nested_type)
            for enum in message.enum_type:
                index[f"{name}.{enum.name}"] = enum

    for file in files:
        prefix = f".{file.package}"
        add_messages(prefix, file.message_type)
        for enum in file.enum_type:
            index[f"{prefix}.{enum.name}"] = enum
    return index


def _field_shape(message, field):
    oneof = message.oneof_decl[field.oneof_index].name if field.HasField("oneof_index") else None
    return (field.number, field.type, field.label, field.type_name, oneof)


def test_every_declared_field_matches_the_official_schema(tmp_path):
    ours = _index(_our_files(tmp_path))
    official = _index(_official_files().values())
    problems = []
    compared = 0
    for name, ours_desc in ours.items():
        theirs = official.get(name)
        if theirs is None:
            problems.append(f"{name}: not in the official schema")
            continue
        if isinstance(ours_desc, descriptor_pb2.EnumDescriptorProto):
            theirs_values = {v.name: v.number for v in theirs.value}
            for value in ours_desc.value:
                compared += 1
                if theirs_values.get(value.name) != value.number:
                    problems.append(f"{name}.{value.name} = {value.number}, official {theirs_values.get(value.name)}")
            continue
        theirs_fields = {f.name: f for f in theirs.field}
        for field in ours_desc.field:
            compared += 1
            other = theirs_fields.get(field.name)
            if other is None:
                problems.append(f"{name}.{field.name}: not in the official schema")
            elif _field_shape(ours_desc, field) != _field_shape(theirs, other):
                problems.append(
                    f"{name}.{field.name}: ours {_field_shape(ours_desc, field)}, "
                    f"official {_field_shape(theirs, other)}"
                )
    assert not problems, "\n".join(problems)
    assert compared > 400, f"only {compared} fields and enum values compared"


def test_our_files_have_the_official_package_and_names(tmp_path):
    official = _official_files()
    for file in _our_files(tmp_path):
        assert file.package == "livekit.proto"
        assert file.name in official, f"{file.name} is not a file of the official schema"
