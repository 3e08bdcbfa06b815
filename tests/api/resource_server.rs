//! portico-verify against the real server (issue 5).
