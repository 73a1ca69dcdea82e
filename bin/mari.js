#!/usr/bin/env -S node --max-semi-space-size=64
// A 64 MiB young generation: the import allocates a row's objects per legacy row, and with
// the default the scavenger ran often enough to cost 5-8% of a 100,000-subscriber import.
import '../dist/src/cli/main.js';
