#pragma once
// Shared helpers for integration tests that talk to the control plane as its admin.

#include <string>

#include "ingressx/core/client.h"

namespace ingressx::testing {

// One admin Client (client certificate, context "admin") for the whole test process.
Client& admin();
// Creates a namespace named prefix-<pid>-<n> and returns its name.
std::string make_namespace(const std::string& prefix);

}  // namespace ingressx::testing
