#pragma once
// A fake kube-apiserver behind the Client's HttpTransport, for unit tests of the code that
// writes (the reconciler's executor): an in-memory store of objects by path with
// resourceVersions, create (409 AlreadyExists), merge patch (conditional on
// metadata.resourceVersion: 409 Conflict), server-side apply, update, delete, get. Any call
// can be made to fail by rule: an HTTP error before it is applied, a connection error, or
// "applied, answer lost" (the write happened; the caller saw an error). Every call is
// logged as "METHOD resource/name[/sub]" for order assertions. Not thread-safe.
#include <algorithm>
#include <deque>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ingressx/core/http.h"

namespace fake_api {

using nlohmann::json;

struct Fault {
  std::string call;      // a substring of the logged call, e.g. "PATCH fleetrollouts/"
  int status = 500;      // HTTP status; 0 = connection reset after sending
  bool applied = false;  // the write is made before the failure (the answer is lost)
  int times = 1;         // how many matching calls fail
  int skip = 0;          // matching calls that pass before the first failure
};

class FakeApi final : public ingressx::HttpTransport {
 public:
  std::map<std::string, json> objects;  // "/apis/.../namespaces/ns/resource/name" -> object
  std::vector<std::string> calls;       // "PATCH fleetrollouts/edge-r2/status", ...
  std::deque<Fault> faults;
  int64_t rv = 100;

  // The object at `resource/name` in any group and namespace (tests use one namespace).
  const json* find(const std::string& resource, const std::string& name) const {
    for (const auto& [path, obj] : objects)
      if (ends_with(path, "/" + resource + "/" + name)) return &obj;
    return nullptr;
  }
  void put(const std::string& path, json obj) {
    obj["metadata"]["resourceVersion"] = std::to_string(++rv);
    objects[path] = std::move(obj);
  }
  // The logged calls that contain `part`, in order.
  std::vector<std::string> calls_with(const std::string& part) const {
    std::vector<std::string> out;
    for (const auto& c : calls)
      if (c.find(part) != std::string::npos) out.push_back(c);
    return out;
  }
  // Writes only (no GET), in order.
  std::vector<std::string> writes() const {
    std::vector<std::string> out;
    for (const auto& c : calls)
      if (c.rfind("GET ", 0) != 0) out.push_back(c);
    return out;
  }

  ingressx::HttpResponse send(const ingressx::HttpRequest& req) override {
    std::string path = req.url.substr(req.url.find('/', req.url.find("//") + 2));
    if (auto q = path.find('?'); q != std::string::npos) path.resize(q);
    std::string sub;  // "/status" of ".../resource/name/status"
    if (const std::string rest = short_name(path);
        ends_with(rest, "/status") && std::count(rest.begin(), rest.end(), '/') == 2) {
      sub = "/status";
      path.resize(path.size() - sub.size());
    }
    const std::string call = req.method + " " + short_name(path) + sub;
    calls.push_back(call);
    for (auto it = faults.begin(); it != faults.end(); ++it) {
      if (call.find(it->call) == std::string::npos) continue;
      if (it->skip > 0) {
        --it->skip;
        continue;
      }
      Fault f = *it;
      if (--it->times <= 0) faults.erase(it);
      if (f.applied) (void)serve(req, path, sub);
      if (f.status == 0)
        throw ingressx::TransportError(req.method + " " + req.url + ": Connection reset by peer",
                                       true);
      return status(f.status, f.status == 429 ? "TooManyRequests" : "InternalError",
                    "injected by the test");
    }
    return serve(req, path, sub);
  }
  ingressx::HttpResponse stream(const ingressx::HttpRequest& req, const ingressx::ChunkHandler&,
                                const std::function<bool()>&) override {
    return status(405, "MethodNotAllowed", "no watches in FakeApi: " + req.url);
  }

 private:
  static bool ends_with(const std::string& s, const std::string& t) {
    return s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0;
  }
  // "resource/name" (or "resource" for a collection) of an API path.
  static std::string short_name(const std::string& path) {
    const auto ns = path.find("/namespaces/");
    std::string rest = ns == std::string::npos ? path : path.substr(ns + 12);
    if (ns != std::string::npos) rest = rest.substr(rest.find('/') + 1);
    return rest;
  }
  static ingressx::HttpResponse status(int code, const std::string& reason,
                                       const std::string& message) {
    ingressx::HttpResponse r;
    r.status = code;
    r.headers["content-type"] = "application/json";
    r.body = json{{"kind", "Status"}, {"apiVersion", "v1"}, {"status", "Failure"},
                  {"reason", reason}, {"message", message}, {"code", code}}
                 .dump();
    return r;
  }
  static ingressx::HttpResponse ok(int code, const json& obj) {
    ingressx::HttpResponse r;
    r.status = code;
    r.headers["content-type"] = "application/json";
    r.body = obj.dump();
    return r;
  }

  ingressx::HttpResponse serve(const ingressx::HttpRequest& req, const std::string& path,
                               const std::string& sub) {
    const json body = req.body.empty() ? json() : json::parse(req.body);
    std::string content_type;
    for (const auto& [k, v] : req.headers)
      if (k == "Content-Type" || k == "content-type") content_type = v;
    auto it = objects.find(path);
    if (req.method == "GET") {
      if (it == objects.end()) return status(404, "NotFound", path + " not found");
      return ok(200, it->second);
    }
    if (req.method == "POST") {
      const std::string p = path + "/" + body["metadata"].value("name", "");
      if (objects.count(p)) return status(409, "AlreadyExists", p + " already exists");
      json obj = body;
      obj["metadata"]["uid"] = "uid-" + std::to_string(rv);
      obj["metadata"]["creationTimestamp"] = "2026-12-08T00:00:00Z";
      put(p, obj);
      return ok(201, objects[p]);
    }
    if (req.method == "DELETE") {
      if (it == objects.end()) return status(404, "NotFound", path + " not found");
      objects.erase(it);
      return ok(200, json{{"kind", "Status"}, {"status", "Success"}});
    }
    if (req.method == "PUT") {
      if (it == objects.end()) return status(404, "NotFound", path + " not found");
      const std::string want = body["metadata"].value("resourceVersion", "");
      if (!want.empty() && want != it->second["metadata"].value("resourceVersion", ""))
        return status(409, "Conflict", "the object has been modified");
      json obj = body;
      if (sub.empty() && it->second.contains("status")) obj["status"] = it->second["status"];
      put(path, obj);
      return ok(200, objects[path]);
    }
    if (req.method == "PATCH") {
      if (content_type.find("apply-patch") != std::string::npos) {
        json obj = it == objects.end() ? body : it->second;
        if (it != objects.end()) obj.merge_patch(body);
        put(path, obj);
        return ok(it == objects.end() ? 201 : 200, objects[path]);
      }
      if (it == objects.end()) return status(404, "NotFound", path + " not found");
      const std::string want =
          body.contains("metadata") ? body["metadata"].value("resourceVersion", "") : "";
      if (!want.empty() && want != it->second["metadata"].value("resourceVersion", ""))
        return status(409, "Conflict",
                      "Operation cannot be fulfilled: the object has been modified");
      json obj = it->second;
      json patch = body;
      if (patch.contains("metadata")) patch["metadata"].erase("resourceVersion");
      // A /status patch changes only the status; a main-resource patch never the status.
      if (sub == "/status") {
        if (patch.contains("status")) {
          json st = obj.value("status", json::object());
          st.merge_patch(patch["status"]);
          obj["status"] = st;
        }
      } else {
        patch.erase("status");
        obj.merge_patch(patch);
      }
      put(path, obj);
      return ok(200, objects[path]);
    }
    return status(405, "MethodNotAllowed", req.method);
  }
};

}  // namespace fake_api
