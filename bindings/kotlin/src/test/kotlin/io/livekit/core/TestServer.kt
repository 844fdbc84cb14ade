package io.livekit.core

import io.livekit.core.uniffi.TokenGrants
import io.livekit.core.uniffi.TokenOptions
import io.livekit.core.uniffi.createAccessToken
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import java.io.File
import java.util.UUID
import java.util.concurrent.TimeUnit

/** The repository root (test.sh and the pom set it; Maven runs from bindings/kotlin). */
val repoRoot: File = File(System.getenv("LIVEKIT_REPO_ROOT") ?: "../..").canonicalFile

/**
 * A real livekit-server started by the project's harness (`lk-test-server`, built by test.sh),
 * which prints one JSON line and stops the server when its standard input closes.
 */
class TestServer private constructor(private val process: Process, val url: String, val apiKey: String, val apiSecret: String) : AutoCloseable {
    companion object {
        fun start(): TestServer {
            val binary = System.getenv("LK_TEST_SERVER")?.let(::File) ?: File(repoRoot, "target/debug/lk-test-server")
            check(binary.canExecute()) { "missing $binary: run bindings/kotlin/test.sh (it builds the harness)" }
            val process = ProcessBuilder(binary.path).redirectError(ProcessBuilder.Redirect.INHERIT).start()
            val line = process.inputStream.bufferedReader().readLine()
                ?: error("lk-test-server exited without starting a server (see its stderr above)")
            val info = Json.parseToJsonElement(line).jsonObject
            fun field(name: String) = info.getValue(name).jsonPrimitive.content
            return TestServer(process, field("url"), field("api_key"), field("api_secret"))
        }
    }

    /** A token for `identity` in `room`, allowed to update its own state by default. */
    fun token(
        room: String,
        identity: String,
        canUpdateOwnMetadata: Boolean = true,
        roomAdmin: Boolean = false,
    ): String = createAccessToken(
        apiKey, apiSecret,
        TokenOptions(
            identity = identity,
            grants = TokenGrants(room = room, canUpdateOwnMetadata = canUpdateOwnMetadata, roomAdmin = roomAdmin),
        ),
    )

    override fun close() {
        process.outputStream.close()
        if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly()
    }
}

fun uniqueRoom(prefix: String) = "$prefix-${UUID.randomUUID().toString().take(8)}"

/** One real server for all the tests of a class. */
@org.junit.jupiter.api.TestInstance(org.junit.jupiter.api.TestInstance.Lifecycle.PER_CLASS)
abstract class ServerTest {
    protected lateinit var server: TestServer

    @org.junit.jupiter.api.BeforeAll
    fun startServer() {
        server = TestServer.start()
    }

    @org.junit.jupiter.api.AfterAll
    fun stopServer() = server.close()
}
