//! Black-box tests: a real server on port 0 with the embedded adapters and the built-in model.
//! All in one binary so the model and dependencies are linked once.

mod answers;
mod bad_input;
mod cli;
mod direct_uploads;
mod helpers;
mod images;
mod migrate;
mod openapi_cli;
mod people;
mod restart;
mod retries;
mod seed_flow;
mod thumbnails;
