//! Configuration files: keepalived.conf syntax and the native TOML format, one validated model.
