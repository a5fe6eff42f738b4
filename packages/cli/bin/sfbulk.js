#!/usr/bin/env node
// Launcher: runs the TypeScript sources through tsx's loader (no build step in this workspace).
import { register } from "tsx/esm/api"

register()
await import("../src/bin.ts")
