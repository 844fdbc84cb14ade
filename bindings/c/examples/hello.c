/* The C ABI without protobuf: initialize, send bytes that are not an FfiRequest, drop a handle
 * that was never given out, read livekit_ffi_last_error, dispose. Exits 1 if the library
 * answers anything but the documented error codes. */
#include <livekit_ffi.h>

#include <stdio.h>

static void on_event(const uint8_t *data, size_t len) {
  /* Called from the library's threads; the bytes are a serialized FfiEvent, valid only now. */
  (void)data;
  (void)len;
}

static int expect_error(const char *what, uint64_t handle, enum LkFfiErrorCode expected) {
  char message[512];
  enum LkFfiErrorCode code = livekit_ffi_last_error(message, sizeof message);
  printf("%s: handle=%llu code=%d message=\"%s\"\n", what, (unsigned long long)handle, (int)code, message);
  if (handle != INVALID_HANDLE || code != expected) {
    fprintf(stderr, "hello: %s: expected handle 0 and code %d\n", what, (int)expected);
    return 1;
  }
  return 0;
}

int main(void) {
  int failures = 0;
  const uint8_t *response = NULL;
  size_t response_len = 0;

  livekit_ffi_initialize(on_event, false, "c", "0.1.0");

  /* 0xff 0xff 0xff is a truncated varint: not a protobuf message at all. */
  const uint8_t garbage[] = {0xff, 0xff, 0xff};
  uint64_t handle = livekit_ffi_request(garbage, sizeof garbage, &response, &response_len);
  failures += expect_error("malformed request", handle, LK_FFI_MALFORMED_REQUEST);

  /* Zero bytes decode to an FfiRequest that names no operation. */
  handle = livekit_ffi_request(garbage, 0, &response, &response_len);
  failures += expect_error("empty request", handle, LK_FFI_EMPTY_REQUEST);

  bool dropped = livekit_ffi_drop_handle(987654321);
  printf("drop of unknown handle 987654321: %s\n", dropped ? "true" : "false");
  if (dropped) {
    fprintf(stderr, "hello: dropping an unknown handle returned true\n");
    failures++;
  }

  livekit_ffi_dispose();
  handle = livekit_ffi_request(garbage, sizeof garbage, &response, &response_len);
  failures += expect_error("request after dispose", handle, LK_FFI_DISPOSED);

  if (failures == 0) printf("hello: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
