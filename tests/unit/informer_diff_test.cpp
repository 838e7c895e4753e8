#include <catch2/catch.hpp>

#include "ingressx/core/informer.h"

using ingressx::CacheDelta;
using ingressx::diff_cache;
using ingressx::json;
using ingressx::object_key;

namespace {

json obj(const std::string& ns, const std::string& name, const std::string& rv) {
  json o = {{"metadata", {{"name", name}, {"resourceVersion", rv}}}};
  if (!ns.empty()) o["metadata"]["namespace"] = ns;
  return o;
}

}  // namespace

TEST_CASE("object_key is ns/name, or name when cluster-scoped", "[informer]") {
  CHECK(object_key(obj("default", "a", "1")) == "default/a");
  CHECK(object_key(obj("", "node-1", "1")) == "node-1");
  CHECK(object_key(json::object()) == "");
  CHECK(object_key(json("not an object")) == "");
}

TEST_CASE("diff_cache of the first list is all adds", "[informer]") {
  auto d = diff_cache({}, {obj("ns", "a", "1"), obj("ns", "b", "2")});
  REQUIRE(d.size() == 2);
  CHECK(d[0].type == CacheDelta::Type::kAdd);
  CHECK(d[0].new_obj == obj("ns", "a", "1"));
  CHECK(d[1].type == CacheDelta::Type::kAdd);
  CHECK(d[1].new_obj == obj("ns", "b", "2"));
}

TEST_CASE("diff_cache delivers nothing when resourceVersions are unchanged", "[informer]") {
  std::vector<json> same = {obj("ns", "a", "1"), obj("", "b", "2")};
  CHECK(diff_cache(same, same).empty());
  // Order does not matter.
  CHECK(diff_cache(same, {same[1], same[0]}).empty());
}

TEST_CASE("diff_cache reports a changed resourceVersion as an update", "[informer]") {
  auto d = diff_cache({obj("ns", "a", "1"), obj("ns", "b", "5")},
                      {obj("ns", "a", "7"), obj("ns", "b", "5")});
  REQUIRE(d.size() == 1);
  CHECK(d[0].type == CacheDelta::Type::kUpdate);
  CHECK(d[0].old_obj == obj("ns", "a", "1"));
  CHECK(d[0].new_obj == obj("ns", "a", "7"));
}

TEST_CASE("diff_cache reports vanished objects as deletes with their last state", "[informer]") {
  auto d = diff_cache({obj("ns", "a", "1"), obj("ns", "gone", "3")}, {obj("ns", "a", "1")});
  REQUIRE(d.size() == 1);
  CHECK(d[0].type == CacheDelta::Type::kDelete);
  CHECK(d[0].old_obj == obj("ns", "gone", "3"));
}

TEST_CASE("diff_cache keys by namespace and name", "[informer]") {
  // Same name in another namespace is a different object.
  auto d = diff_cache({obj("ns1", "a", "1")}, {obj("ns2", "a", "1")});
  REQUIRE(d.size() == 2);
  CHECK(d[0].type == CacheDelta::Type::kAdd);
  CHECK(d[0].new_obj == obj("ns2", "a", "1"));
  CHECK(d[1].type == CacheDelta::Type::kDelete);
  CHECK(d[1].old_obj == obj("ns1", "a", "1"));
}

TEST_CASE("diff_cache mixes adds, updates and deletes, each once", "[informer]") {
  std::vector<json> before = {obj("ns", "keep", "1"), obj("ns", "change", "2"),
                              obj("ns", "drop", "3")};
  std::vector<json> after = {obj("ns", "change", "9"), obj("ns", "new", "10"),
                             obj("ns", "keep", "1")};
  auto d = diff_cache(before, after);
  REQUIRE(d.size() == 3);
  int adds = 0, updates = 0, deletes = 0;
  for (const auto& x : d) {
    switch (x.type) {
      case CacheDelta::Type::kAdd:
        ++adds;
        CHECK(object_key(x.new_obj) == "ns/new");
        break;
      case CacheDelta::Type::kUpdate:
        ++updates;
        CHECK(object_key(x.new_obj) == "ns/change");
        break;
      case CacheDelta::Type::kDelete:
        ++deletes;
        CHECK(object_key(x.old_obj) == "ns/drop");
        break;
    }
  }
  CHECK(adds == 1);
  CHECK(updates == 1);
  CHECK(deletes == 1);
}

TEST_CASE("diff_cache without resourceVersions compares content", "[informer]") {
  json a = {{"metadata", {{"name", "a"}}}, {"data", 1}};
  json a2 = {{"metadata", {{"name", "a"}}}, {"data", 2}};
  CHECK(diff_cache({a}, {a}).empty());
  auto d = diff_cache({a}, {a2});
  REQUIRE(d.size() == 1);
  CHECK(d[0].type == CacheDelta::Type::kUpdate);
}
