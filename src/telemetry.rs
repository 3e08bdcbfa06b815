//! Logging: `tracing` to stderr, as text or JSON lines.

use crate::config::LogFormat;
use tracing_subscriber::{EnvFilter, fmt};

/// Installs the global subscriber once; later calls (tests) are no-ops.
pub fn init(format: LogFormat, filter: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(filter));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
