//! The root package only carries the integration tests in `tests/`.
