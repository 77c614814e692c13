# Room.Call and roomd's Janus calls: node runs the browser's link-E2EE JavaScript against the C# side
# (Room.Call.Tests); Janus, Chromium and network namespaces for roomd's Janus call interop tests.
APT_PACKAGES += nodejs janus chromium iproute2
