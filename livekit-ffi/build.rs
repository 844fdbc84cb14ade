//! Compiles proto/*.proto into Rust types with prost, through protox (no protoc needed).

fn main() {
    let files = [
        "proto/ffi.proto",
        "proto/handle.proto",
        "proto/room.proto",
        "proto/participant.proto",
        "proto/data_stream.proto",
        "proto/rpc.proto",
        "proto/track.proto",
        "proto/e2ee.proto",
        "proto/audio_frame.proto",
        "proto/video_frame.proto",
        "proto/track_publication.proto",
        "proto/stats.proto",
    ];
    for file in files {
        println!("cargo:rerun-if-changed={file}");
    }
    let descriptors = protox::compile(files, ["proto"]).expect("the .proto files compile");
    prost_build::Config::new().compile_fds(descriptors).expect("prost generates the Rust types");
}
