//! End-to-end tests of the admin console (Administration > Web Services) in a real headless
//! Chromium, driven through chromedriver: the guides' walk-through from registering a partner
//! application to enabling it at another company, and the console's security properties.
//!
//! Needs /usr/bin/chromium and /usr/bin/chromedriver (`apt-get install chromium
//! chromium-driver`); without them the tests are skipped, or fail when `CI=true`. Screenshots
//! of each page land in target/screenshots/.

mod client_auth;
mod harness;
mod oauth;
mod security;
mod walkthrough;
