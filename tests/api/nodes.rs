//! Several portico processes on one PostgreSQL database.
