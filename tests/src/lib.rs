//! Helpers for the end-to-end stories.
