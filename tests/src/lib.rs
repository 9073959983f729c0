//! Shared helpers of the integration tests: namespaces, veths, the embedded XDP object.
