package main

// version is set at build time with -ldflags "-X main.version=...".
var version = "v0.1.0-dev"
