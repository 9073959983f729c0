//! VRRP packets and the RFC 9568 state machine, without sockets, clocks or a runtime.
