//! The stream: tar entries, gzip, age.
