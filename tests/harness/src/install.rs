//! Finds or installs the pinned `livekit-server` binary.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

/// The newest livekit-server tag that `go install` accepts: v1.13.6 and later carry `replace`
/// directives in their go.mod, which `go install pkg@version` refuses.
pub const SERVER_VERSION: &str = "v1.13.5";

const SERVER_PACKAGE: &str = "github.com/livekit/livekit-server/cmd/server";

static INSTALL_LOCK: Mutex<()> = Mutex::new(());

/// Where the pinned server lives: `$LIVEKIT_SERVER_BIN` when set, else a versioned cache dir.
fn binary_path() -> PathBuf {
    if let Ok(path) = std::env::var("LIVEKIT_SERVER_BIN") {
        return PathBuf::from(path);
    }
    cache_dir().join(format!("livekit-server-{SERVER_VERSION}")).join("server")
}

fn cache_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("livekit-core");
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/tmp".into());
    PathBuf::from(home).join(".cache").join("livekit-core")
}

/// Returns the path of the pinned server, installing it with `go install` when it is missing.
/// Fails with a message that says what to install when Go is not there.
pub fn ensure_server_binary() -> Result<PathBuf, String> {
    let path = binary_path();
    let _guard = INSTALL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if path.is_file() {
        return Ok(path);
    }
    if std::env::var("LIVEKIT_SERVER_BIN").is_ok() {
        return Err(format!("LIVEKIT_SERVER_BIN names {} but no file is there", path.display()));
    }
    let gobin = path.parent().expect("versioned dir").to_path_buf();
    std::fs::create_dir_all(&gobin).map_err(|e| format!("create {}: {e}", gobin.display()))?;
    eprintln!("installing livekit-server {SERVER_VERSION} with go install (first run only)...");
    let status = Command::new("go")
        .args(["install", &format!("{SERVER_PACKAGE}@{SERVER_VERSION}")])
        .env("GOBIN", &gobin)
        .status()
        .map_err(|e| format!("livekit-server is missing and `go` could not run ({e}); install Go 1.26+"))?;
    if !status.success() || !path.is_file() {
        return Err(format!("go install {SERVER_PACKAGE}@{SERVER_VERSION} failed ({status})"));
    }
    Ok(path)
}
