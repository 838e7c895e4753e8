#pragma once
// Shared helpers for integration tests that talk to the control plane as its admin.

#include <map>
#include <string>

#include "ingressx/core/client.h"

namespace ingressx::testing {

// One admin Client (client certificate, context "admin") for the whole test process.
Client& admin();
// Creates a namespace named prefix-<pid>-<n> and returns its name.
std::string make_namespace(const std::string& prefix);

// The whole file at `path` (throws naming it when it cannot be read).
std::string read_text(const std::string& path);
// Applies the ingressx CRDs from crds/ (server-side apply, forced), waits until they are
// Established and served, and returns the stored CRDs keyed by name.
std::map<std::string, json> install_crds();

}  // namespace ingressx::testing
