#pragma once
// Reads a captured sample from tests/data/<dir>/<name>; fails the test if it is missing.

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <string>

namespace ingressx::testing {

inline std::string read_sample(const std::string& dir, const std::string& name) {
  std::string path = std::string(INGRESSX_TEST_DATA) + "/" + dir + "/" + name;
  std::ifstream in(path);
  if (!in) FAIL("missing test sample " << path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace ingressx::testing
