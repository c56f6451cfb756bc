//! Services: the application's use cases, written against the ports only.
