//! Conformance suites, one per port, run by every adapter.
