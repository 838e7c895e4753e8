// Client::resolve: apiVersion + kind -> resource, from /api/v1 and /apis/<group>/<version>.

#include <optional>

#include "client_impl.h"

namespace ingressx {

namespace {

std::optional<ResourceRef> find_kind(const std::vector<ResourceRef>& refs,
                                     const std::string& kind) {
  for (const auto& r : refs)
    if (r.kind == kind) return r;
  return std::nullopt;
}

// The resources of one APIResourceList, without subresources ("pods/status").
std::vector<ResourceRef> parse_resource_list(const json& list, const std::string& group,
                                             const std::string& version) {
  std::vector<ResourceRef> out;
  auto resources = list.find("resources");
  if (resources == list.end() || !resources->is_array()) return out;
  for (const auto& res : *resources) {
    if (!res.is_object()) continue;
    std::string name = res.value("name", "");
    if (name.empty() || name.find('/') != std::string::npos) continue;
    ResourceRef r;
    r.group = res.value("group", group);
    r.version = res.value("version", version);
    r.resource = name;
    r.namespaced = res.value("namespaced", false);
    r.kind = res.value("kind", "");
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

ResourceRef Client::resolve(const std::string& api_version, const std::string& kind) {
  if (api_version.empty() || kind.empty())
    throw Error(Error::Kind::kInvalidInput, "resolve needs an apiVersion and a kind (got \"" +
                                                api_version + "\", \"" + kind + "\")");
  {
    std::lock_guard lock(impl_->discovery_mu);
    if (auto it = impl_->discovery.find(api_version); it != impl_->discovery.end())
      if (auto r = find_kind(it->second, kind)) return *r;
  }
  // A miss (or a group/version not seen yet): fetch the group/version once.
  size_t slash = api_version.find('/');
  std::string group = slash == std::string::npos ? "" : api_version.substr(0, slash);
  std::string version = slash == std::string::npos ? api_version : api_version.substr(slash + 1);
  std::string path = group.empty() ? "/api/" + version : "/apis/" + api_version;
  HttpResponse resp = impl_->send({"GET", path, "", "", true});
  std::vector<ResourceRef> found;
  if (resp.status != 404) {
    if (resp.status < 200 || resp.status >= 300)
      throw detail::api_error("GET", impl_->url(path), resp.status, resp.body);
    found = parse_resource_list(detail::decode_json("GET", impl_->url(path), resp.body), group,
                                version);
  }
  std::optional<ResourceRef> r = find_kind(found, kind);
  {
    std::lock_guard lock(impl_->discovery_mu);
    impl_->discovery[api_version] = std::move(found);
  }
  if (r) return *r;
  throw Error(Error::Kind::kNotFound,
              "no resource for kind " + kind + " in apiVersion " + api_version +
                  (resp.status == 404 ? " (the server does not serve " + api_version + ")" : ""));
}

}  // namespace ingressx
