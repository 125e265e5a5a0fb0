//! Integration tests: the real application over HTTP, on SQLite by default and on PostgreSQL
//! when `LOPHOC_TEST_DATABASE_URL` points at a server (each test gets its own database).

mod access;
mod accounts;
mod api;
mod attendance;
mod banks;
mod exams;
mod exchange;
mod family;
mod gradebook;
mod harness;
mod learning;
mod live;
mod notify;
mod oversight;
mod pdf;
mod roster;
mod self_assessment;
mod surveys;
mod video;
