//! Shared by the targets: with `PORTICO_FUZZ_TIMING` set, each run prints how long the target's
//! body took, in microseconds, so a corpus replay can name its slowest input (libFuzzer itself
//! reports slow units only in whole seconds, and prints replays in whole milliseconds).

use std::sync::OnceLock;
use std::time::Instant;

pub fn timed(data: &[u8], body: impl FnOnce()) {
    static ON: OnceLock<bool> = OnceLock::new();
    if !*ON.get_or_init(|| std::env::var_os("PORTICO_FUZZ_TIMING").is_some()) {
        return body();
    }
    let start = Instant::now();
    body();
    eprintln!(
        "portico-fuzz-timing us={} len={}",
        start.elapsed().as_micros(),
        data.len()
    );
}
