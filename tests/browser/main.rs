//! End-to-end tests of the admin console (Administration > Web Services) in a real headless
//! Chromium, driven through chromedriver: the guides' walk-through from registering a partner
//! application to certifying it and enabling it at another company, the developer program's
//! sandbox sign-up and certification, and the console's security properties.
//!
//! Needs /usr/bin/chromium and /usr/bin/chromedriver (`apt-get install chromium
//! chromium-driver`); without them the tests are skipped, or fail when `CI=true`. Screenshots
//! of each page land in target/screenshots/.

mod client_auth;
mod developer_program;
mod harness;
mod oauth;
mod security;
mod walkthrough;
