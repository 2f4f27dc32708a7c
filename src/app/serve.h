// `basalt serve`: loads configuration, wires adapters to ports, and runs the
// HTTP server until SIGTERM or SIGINT, then shuts down gracefully.
#pragma once

#include "app/async_wiring.h"
#include "core/config.h"

namespace basalt::app {

// Returns the process exit code. kWorker runs the async workers and the system
// routes only (`basalt worker`).
int RunServe(const ConfigSources& sources, AsyncRole role = AsyncRole::kServe);

// Whether `host` is a loopback address (127.0.0.0/8, ::1, "localhost").
bool IsLoopback(const std::string& host);

}  // namespace basalt::app
