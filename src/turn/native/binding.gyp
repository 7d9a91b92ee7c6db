{
  "targets": [
    {
      "target_name": "udp_relay",
      "sources": ["udp-relay.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
