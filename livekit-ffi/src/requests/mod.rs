//! Decodes one `FfiRequest` and hands it to the module that owns it; each returns the
//! synchronous response and, for long operations, spawns the work that sends the callback.

pub mod audio;
pub mod audio_streams;
mod convert;
mod data_packets;
mod participant;
pub mod resampler;
mod room_events;
mod rpc;
mod simulate;
mod stats;
mod stream_outcome;
mod stream_readers;
pub mod stream_writers;
mod track_events;
mod tracks;
mod unsupported;
pub mod video;
mod video_streams;

pub mod room;

use prost::Message;

use crate::error::FfiResult;
use crate::proto::{ffi_request::Message as Request, ffi_response::Message as Response, FfiRequest};

pub fn handle(bytes: &[u8]) -> FfiResult<Response> {
    let request = FfiRequest::decode(bytes)?;
    let Some(message) = request.message else {
        return Err(unsupported::classify(bytes));
    };
    Ok(match message {
        Request::Dispose(r) => Response::Dispose(room::dispose(r)),
        Request::Connect(r) => Response::Connect(room::connect(r)),
        Request::Disconnect(r) => Response::Disconnect(room::disconnect(r)?),
        Request::ReadyForRoomEvent(r) => Response::ReadyForRoomEvent(room::ready_for_room_event(r)?),
        Request::GetSessionStats(r) => Response::GetSessionStats(stats::get_session_stats(r)?),
        Request::GetStats(r) => Response::GetStats(stats::get_stats(r)?),
        Request::SimulateScenario(r) => Response::SimulateScenario(simulate::simulate_scenario(r)?),
        Request::PublishData(r) => Response::PublishData(data_packets::publish_data(r)?),
        Request::SetLocalMetadata(r) => Response::SetLocalMetadata(participant::set_metadata(r)?),
        Request::SetLocalName(r) => Response::SetLocalName(participant::set_name(r)?),
        Request::SetLocalAttributes(r) => Response::SetLocalAttributes(participant::set_attributes(r)?),
        Request::PerformRpc(r) => Response::PerformRpc(rpc::perform(r)?),
        Request::RegisterRpcMethod(r) => Response::RegisterRpcMethod(rpc::register(r)?),
        Request::UnregisterRpcMethod(r) => Response::UnregisterRpcMethod(rpc::unregister(r)?),
        Request::RpcMethodInvocationResponse(r) => Response::RpcMethodInvocationResponse(rpc::answer(r)),
        Request::ByteReadIncremental(r) => Response::ByteReadIncremental(stream_readers::byte_read_incremental(r)?),
        Request::ByteReadAll(r) => Response::ByteReadAll(stream_readers::byte_read_all(r)?),
        Request::ByteWriteToFile(r) => Response::ByteWriteToFile(stream_readers::byte_write_to_file(r)?),
        Request::TextReadIncremental(r) => Response::TextReadIncremental(stream_readers::text_read_incremental(r)?),
        Request::TextReadAll(r) => Response::TextReadAll(stream_readers::text_read_all(r)?),
        Request::SendFile(r) => Response::SendFile(stream_writers::send_file(r)?),
        Request::SendText(r) => Response::SendText(stream_writers::send_text(r)?),
        Request::SendBytes(r) => Response::SendBytes(stream_writers::send_bytes(r)?),
        Request::ByteStreamOpen(r) => Response::ByteStreamOpen(stream_writers::byte_stream_open(r)?),
        Request::ByteStreamWrite(r) => Response::ByteStreamWrite(stream_writers::byte_stream_write(r)?),
        Request::ByteStreamClose(r) => Response::ByteStreamClose(stream_writers::byte_stream_close(r)?),
        Request::TextStreamOpen(r) => Response::TextStreamOpen(stream_writers::text_stream_open(r)?),
        Request::TextStreamWrite(r) => Response::TextStreamWrite(stream_writers::text_stream_write(r)?),
        Request::TextStreamClose(r) => Response::TextStreamClose(stream_writers::text_stream_close(r)?),
        Request::NewAudioSource(r) => Response::NewAudioSource(audio::new_audio_source(r)?),
        Request::CaptureAudioFrame(r) => Response::CaptureAudioFrame(audio::capture_audio_frame(r)?),
        Request::ClearAudioBuffer(r) => Response::ClearAudioBuffer(audio::clear_audio_buffer(r)?),
        Request::NewAudioStream(r) => Response::NewAudioStream(audio_streams::new_audio_stream(r)?),
        Request::AudioStreamFromParticipant(r) => {
            Response::AudioStreamFromParticipant(audio_streams::audio_stream_from_participant(r)?)
        }
        Request::NewPlatformAudio(r) => Response::NewPlatformAudio(audio::new_platform_audio(r)),
        Request::NewSoxResampler(r) => Response::NewSoxResampler(resampler::new_sox_resampler(r)),
        Request::PushSoxResampler(r) => Response::PushSoxResampler(resampler::push_sox_resampler(r)?),
        Request::FlushSoxResampler(r) => Response::FlushSoxResampler(resampler::flush_sox_resampler(r)?),
        Request::CreateAudioTrack(r) => Response::CreateAudioTrack(tracks::create_audio_track(r)?),
        Request::PublishTrack(r) => Response::PublishTrack(tracks::publish_track(r)?),
        Request::UnpublishTrack(r) => Response::UnpublishTrack(tracks::unpublish_track(r)?),
        Request::LocalTrackMute(r) => Response::LocalTrackMute(tracks::local_track_mute(r)?),
        Request::EnableRemoteTrack(r) => Response::EnableRemoteTrack(tracks::enable_remote_track(r)?),
        Request::SetSubscribed(r) => Response::SetSubscribed(tracks::set_subscribed(r)?),
        Request::NewVideoSource(r) => Response::NewVideoSource(video::new_video_source(r)?),
        Request::CaptureVideoFrame(r) => Response::CaptureVideoFrame(video::capture_video_frame(r)?),
        Request::VideoConvert(r) => Response::VideoConvert(video::video_convert(r)),
        Request::NewVideoStream(r) => Response::NewVideoStream(video_streams::new_video_stream(r)?),
        Request::VideoStreamFromParticipant(r) => {
            Response::VideoStreamFromParticipant(video_streams::video_stream_from_participant(r)?)
        }
        Request::CreateVideoTrack(r) => Response::CreateVideoTrack(tracks::create_video_track(r)?),
        Request::EnableRemoteTrackPublication(r) => {
            Response::EnableRemoteTrackPublication(tracks::enable_remote_track_publication(r)?)
        }
        Request::UpdateRemoteTrackPublicationDimension(r) => {
            Response::UpdateRemoteTrackPublicationDimension(tracks::update_remote_track_publication_dimension(r)?)
        }
        Request::SetRemoteTrackPublicationQuality(r) => {
            Response::SetRemoteTrackPublicationQuality(tracks::set_remote_track_publication_quality(r)?)
        }
        Request::SetTrackSubscriptionPermissions(r) => {
            Response::SetTrackSubscriptionPermissions(tracks::set_track_subscription_permissions(r)?)
        }
    })
}

/// Whether a fuzzer must not run this request for real: `connect` opens network connections,
/// and the requests that read the caller's samples or pixels (`capture_audio_frame`,
/// `push_sox_resampler`, `capture_video_frame`, `video_convert`) read memory at the address they
/// name, which random bytes make up. (`publish_data` reads its
/// pointer only with a local participant's handle, which needs a connect.)
pub fn fuzz_must_skip(bytes: &[u8]) -> bool {
    matches!(
        FfiRequest::decode(bytes),
        Ok(FfiRequest {
            message: Some(
                Request::Connect(_)
                    | Request::CaptureAudioFrame(_)
                    | Request::PushSoxResampler(_)
                    | Request::CaptureVideoFrame(_)
                    | Request::VideoConvert(_)
            )
        })
    )
}
