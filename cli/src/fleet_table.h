#pragma once
// The ProxyFleet table (fleet list, fleet get): kubectl's printer columns.

#include <nlohmann/json_fwd.hpp>
#include <vector>

#include "cli.h"
#include "output.h"

namespace ingressx::cli {

Table fleet_table(const Globals& g, const std::vector<nlohmann::json>& fleets);

}  // namespace ingressx::cli
