package io.livekit.core

import io.livekit.core.uniffi.Room
import io.livekit.core.uniffi.RoomEvent
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import kotlinx.coroutines.withTimeout
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds

/** Every event of a room, collected from its `events()` flow, with a wait-with-timeout. */
class EventLog(room: Room, scope: CoroutineScope) {
    private val seen = MutableStateFlow<List<RoomEvent>>(emptyList())

    init {
        scope.launch { room.events().collect { event -> seen.update { it + event } } }
    }

    val events: List<RoomEvent> get() = seen.value

    /** The first event (already seen or still to come) of type T matching `predicate`. */
    suspend inline fun <reified T : RoomEvent> await(
        timeout: Duration = 10.seconds,
        crossinline predicate: (T) -> Boolean = { true },
    ): T = withTimeout(timeout) {
        awaitAny { it is T && predicate(it) } as T
    }

    suspend fun awaitAny(predicate: (RoomEvent) -> Boolean): RoomEvent =
        seen.first { list -> list.any(predicate) }.first(predicate)
}
