// The REST client: requests, retries, auth refresh and the object verbs. Watches are in
// client_watch.cpp, discovery in discovery.cpp.

#include "ingressx/core/client.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

#include "client_impl.h"
#include "ingressx/core/process.h"

namespace ingressx {

namespace {

RestConfig normalize(RestConfig cfg) {
  while (!cfg.server.empty() && cfg.server.back() == '/') cfg.server.pop_back();
  if (cfg.namespace_.empty()) cfg.namespace_ = "default";
  return cfg;
}

bool is_idempotent(const std::string& method) {
  return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" ||
         method == "OPTIONS";
}

bool is_success(int status) {
  return status >= 200 && status < 300;
}

// Retryable for any verb: the server refused the request without acting on it.
bool is_throttle(int status) {
  return status == 429 || status == 503;
}

bool is_retryable_5xx(int status) {
  return status >= 500 && status < 600 && status != 501 && status != 505;
}

std::string what_of(const ResourceRef& r) {
  return r.kind.empty() ? r.resource : r.kind;
}

std::string name_of(const ResourceRef& r, const json& obj, const char* verb) {
  const json* name = nullptr;
  if (obj.is_object() && obj.contains("metadata") && obj["metadata"].is_object())
    if (auto it = obj["metadata"].find("name"); it != obj["metadata"].end()) name = &*it;
  if (!name || !name->is_string() || name->get<std::string>().empty())
    throw Error(Error::Kind::kInvalidInput,
                std::string(verb) + " " + what_of(r) + ": the object has no metadata.name");
  return name->get<std::string>();
}

std::string to_body(const ResourceRef& r, const json& obj) {
  try {
    return obj.dump();
  } catch (const json::exception& e) {
    throw Error(Error::Kind::kInvalidInput,
                what_of(r) + ": the object cannot be encoded as JSON: " + e.what());
  }
}

std::string list_meta(const json& page, const char* key) {
  auto m = page.find("metadata");
  if (m == page.end() || !m->is_object()) return "";
  auto v = m->find(key);
  return v != m->end() && v->is_string() ? v->get<std::string>() : "";
}

void require_name(const ResourceRef& r, const std::string& name, const char* verb) {
  if (name.empty())
    throw Error(Error::Kind::kInvalidInput, std::string(verb) + " " + what_of(r) + ": empty name");
}

}  // namespace

Client::Impl::Impl(RestConfig config, std::unique_ptr<HttpTransport> t, ProcessRunner* runner,
                   Clock* c)
    : cfg(normalize(std::move(config))),
      own_clock(c ? nullptr : std::make_unique<RealClock>()),
      clock(c ? c : own_clock.get()),
      transport(t ? std::move(t) : make_curl_transport(cfg)),
      auth(cfg, runner ? *runner : default_process_runner(), *clock) {}

HttpRequest Client::Impl::build(const Call& c, const detail::Credentials& creds,
                                std::chrono::milliseconds timeout) const {
  HttpRequest req;
  req.method = c.method;
  req.url = url(c.path);
  req.body = c.body;
  req.timeout = timeout;
  req.headers.reserve(4 + creds.headers.size() + cfg.impersonate_groups.size());
  req.headers.emplace_back("Accept", "application/json");
  req.headers.emplace_back("User-Agent", detail::kUserAgent);
  if (!c.content_type.empty() && (!c.body.empty() || c.method != "GET"))
    req.headers.emplace_back("Content-Type", c.content_type);
  for (const auto& h : creds.headers) req.headers.push_back(h);
  if (!cfg.impersonate_user.empty())
    req.headers.emplace_back("Impersonate-User", cfg.impersonate_user);
  for (const auto& g : cfg.impersonate_groups) req.headers.emplace_back("Impersonate-Group", g);
  req.client_cert_pem = creds.client_cert_pem;
  req.client_key_pem = creds.client_key_pem;
  return req;
}

RetryPolicy Client::Impl::retry_policy() const {
  std::lock_guard lock(mu);
  return policy;
}

std::chrono::milliseconds Client::Impl::backoff(const RetryPolicy& p, int next_attempt) {
  double jitter;
  {
    std::lock_guard lock(mu);
    jitter = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  }
  return backoff_delay(p, next_attempt, jitter);
}

HttpResponse Client::Impl::send(const Call& c) {
  const RetryPolicy p = retry_policy();
  const int max_attempts = std::max(1, p.max_attempts);
  if (c.method != "GET" && c.method != "HEAD" && c.method != "OPTIONS") {
    std::function<void(const std::string&, const std::string&)> guard;
    {
      std::lock_guard lock(guard_mu);
      guard = write_guard;
    }
    if (guard) guard(c.method, c.path);
  }
  const bool bounded = p.deadline.count() > 0;
  const auto deadline = clock->now() + p.deadline;
  auto left = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock->now());
  };
  bool reauthenticated = false;
  for (int attempt = 1;; ++attempt) {
    detail::Credentials creds = auth.credentials();
    std::chrono::milliseconds timeout = cfg.timeout;
    if (bounded) {
      const auto rest = left();
      if (rest.count() <= 0)
        throw TransportError(c.method + " " + url(c.path) + ": deadline of " +
                                 std::to_string(p.deadline.count()) + " ms exceeded",
                             attempt > 1);
      if (timeout.count() == 0 || timeout > rest) timeout = rest;
    }
    HttpRequest req = build(c, creds, timeout);
    ++requests;
    std::chrono::milliseconds delay{0};
    std::string why;
    std::optional<HttpResponse> last_resp;
    try {
      HttpResponse resp = transport->send(req);
      if (resp.status == 401 && !reauthenticated && auth.invalidate(creds)) {
        reauthenticated = true;  // a retry with fresh credentials, not counted as an attempt
        --attempt;
        continue;
      }
      bool retryable = is_throttle(resp.status) || (c.idempotent && is_retryable_5xx(resp.status));
      if (!retryable || attempt >= max_attempts) return resp;
      delay = backoff(p, attempt + 1);
      if (is_throttle(resp.status)) {
        auto it = resp.headers.find("retry-after");
        auto after =
            it == resp.headers.end() ? std::chrono::seconds(0) : parse_retry_after(it->second);
        if (after.count() > 0) delay = std::min<std::chrono::milliseconds>(after, p.max_delay);
      }
      why = "HTTP " + std::to_string(resp.status);
      last_resp = std::move(resp);
    } catch (const Error& e) {
      if (e.kind() != Error::Kind::kTransport || attempt >= max_attempts) throw;
      auto* te = dynamic_cast<const TransportError*>(&e);
      bool sent = te ? te->request_sent() : true;
      if (sent && !c.idempotent) throw;
      delay = backoff(p, attempt + 1);
      why = e.what();
    }
    // No retry that the deadline would cut short: the caller gets the failure now.
    if (bounded && left() - delay < std::chrono::milliseconds(100)) {
      if (last_resp) return *last_resp;
      throw TransportError(c.method + " " + url(c.path) + ": " + why + " (deadline of " +
                               std::to_string(p.deadline.count()) + " ms: no time to retry)",
                           true);
    }
    spdlog::debug("{} {}: {}; retrying in {} ms (attempt {} of {})", c.method, url(c.path), why,
                  delay.count(), attempt + 1, max_attempts);
    ++retries;
    clock->sleep_for(delay);
  }
}

json Client::Impl::call(const Call& c) {
  HttpResponse resp = send(c);
  if (!is_success(resp.status))
    throw detail::api_error(c.method, url(c.path), resp.status, resp.body);
  return detail::decode_json(c.method, url(c.path), resp.body);
}

std::string Client::Impl::object_ns(const ResourceRef& r, const std::string& ns,
                                    const json* obj) const {
  if (!r.namespaced) return "";
  if (!ns.empty()) return ns;
  if (obj && obj->is_object() && obj->contains("metadata") && (*obj)["metadata"].is_object()) {
    auto it = (*obj)["metadata"].find("namespace");
    if (it != (*obj)["metadata"].end() && it->is_string() && !it->get<std::string>().empty())
      return it->get<std::string>();
  }
  return cfg.namespace_;
}

Client::Client(RestConfig cfg, std::unique_ptr<HttpTransport> transport, ProcessRunner* runner,
               Clock* clock)
    : impl_(std::make_unique<Impl>(std::move(cfg), std::move(transport), runner, clock)) {}

Client::~Client() = default;

const RestConfig& Client::config() const {
  return impl_->cfg;
}
const std::string& Client::default_namespace() const {
  return impl_->cfg.namespace_;
}

void Client::set_retry_policy(RetryPolicy p) {
  std::lock_guard lock(impl_->mu);
  impl_->policy = p;
}

ClientStats Client::stats() const {
  ClientStats s;
  s.requests = impl_->requests.load();
  s.retries = impl_->retries.load();
  s.exec_plugin_runs = impl_->auth.exec_runs();
  return s;
}

json Client::get(const ResourceRef& r, const std::string& ns, const std::string& name) {
  require_name(r, name, "GET");
  return impl_->call({"GET", r.path(impl_->object_ns(r, ns, nullptr), name), "", "", true});
}

std::optional<json> Client::try_get(const ResourceRef& r, const std::string& ns,
                                    const std::string& name) {
  try {
    return get(r, ns, name);
  } catch (const Error& e) {
    if (e.http_status() == 404) return std::nullopt;
    throw;
  }
}

json Client::list(const ResourceRef& r, const std::string& ns, const ListOptions& opts) {
  std::string path = detail::with_query(r.path(ns), detail::list_query(opts, /*watch=*/false));
  return impl_->call({"GET", path, "", "", true});
}

json Client::list_all(const ResourceRef& r, const std::string& ns, ListOptions opts) {
  if (opts.limit <= 0) opts.limit = 500;
  const ListOptions first = opts;
  bool restarted = false;
  json result;
  for (;;) {
    json page;
    try {
      page = list(r, ns, opts);
    } catch (const Error& e) {
      // The continue token expired (etcd compacted past it): start over once.
      if (!e.is_gone() || opts.continue_token.empty() || restarted) throw;
      restarted = true;
      opts = first;
      result = json();
      continue;
    }
    if (result.is_null()) {
      result = {{"apiVersion", page.value("apiVersion", r.api_version())},
                {"kind", page.value("kind", r.kind + "List")},
                {"metadata", {{"resourceVersion", list_meta(page, "resourceVersion")}}},
                {"items", json::array()}};
    }
    if (page.contains("items") && page["items"].is_array())
      for (auto& item : page["items"]) result["items"].push_back(std::move(item));
    std::string next = list_meta(page, "continue");
    if (next.empty()) return result;
    opts.continue_token = next;
    // A continue token carries its own snapshot; the server rejects a resourceVersion too.
    opts.resource_version.clear();
    opts.resource_version_match.clear();
  }
}

json Client::create(const ResourceRef& r, const std::string& ns, const json& obj) {
  return impl_->call(
      {"POST", r.path(impl_->object_ns(r, ns, &obj)), to_body(r, obj), "application/json", false});
}

json Client::update(const ResourceRef& r, const std::string& ns, const json& obj) {
  std::string name = name_of(r, obj, "PUT");
  return impl_->call({"PUT", r.path(impl_->object_ns(r, ns, &obj), name), to_body(r, obj),
                      "application/json", true});
}

json Client::update_status(const ResourceRef& r, const std::string& ns, const json& obj) {
  std::string name = name_of(r, obj, "PUT");
  return impl_->call({"PUT", r.path(impl_->object_ns(r, ns, &obj), name) + "/status",
                      to_body(r, obj), "application/json", true});
}

bool Client::remove(const ResourceRef& r, const std::string& ns, const std::string& name,
                    const std::string& propagation) {
  require_name(r, name, "DELETE");
  std::string body;
  if (!propagation.empty())
    body = json{{"apiVersion", "v1"}, {"kind", "DeleteOptions"}, {"propagationPolicy", propagation}}
               .dump();
  Impl::Call c{"DELETE", r.path(impl_->object_ns(r, ns, nullptr), name), body,
               body.empty() ? "" : "application/json", true};
  HttpResponse resp = impl_->send(c);
  if (resp.status == 404) return false;
  if (!is_success(resp.status))
    throw detail::api_error(c.method, impl_->url(c.path), resp.status, resp.body);
  return true;
}

json Client::patch(const ResourceRef& r, const std::string& ns, const std::string& name,
                   PatchType type, const json& patch, const std::string& subresource) {
  require_name(r, name, "PATCH");
  std::string path = r.path(impl_->object_ns(r, ns, nullptr), name);
  if (!subresource.empty()) path += "/" + subresource;
  // A patch that names the resourceVersion it was computed from is conditional: sent twice,
  // the second one fails with 409 instead of acting again, so it may be retried.
  bool conditional = false;
  if (patch.is_object() && patch.contains("metadata") && patch["metadata"].is_object()) {
    auto it = patch["metadata"].find("resourceVersion");
    conditional =
        it != patch["metadata"].end() && it->is_string() && !it->get<std::string>().empty();
  }
  return impl_->call(
      {"PATCH", path, to_body(r, patch), detail::patch_content_type(type), conditional});
}

void Client::set_write_guard(
    std::function<void(const std::string& method, const std::string& path)> g) {
  std::lock_guard lock(impl_->guard_mu);
  impl_->write_guard = std::move(g);
}

json Client::apply(const ResourceRef& r, const std::string& ns, const json& obj,
                   const std::string& field_manager, bool force, const std::string& subresource) {
  if (field_manager.empty())
    throw Error(Error::Kind::kInvalidInput,
                "apply " + what_of(r) + ": a field manager is required for server-side apply");
  std::string name = name_of(r, obj, "apply");
  json body = obj;
  if (!body.contains("apiVersion")) body["apiVersion"] = r.api_version();
  if (!body.contains("kind") && !r.kind.empty()) body["kind"] = r.kind;
  std::string path = r.path(impl_->object_ns(r, ns, &obj), name);
  if (!subresource.empty()) path += "/" + subresource;
  detail::QueryParams q{{"fieldManager", field_manager}};
  if (force) q.emplace_back("force", "true");
  return impl_->call({"PATCH", detail::with_query(path, q), to_body(r, body),
                      "application/apply-patch+yaml", true});
}

json Client::raw(const std::string& method, const std::string& path, const std::string& body,
                 const std::string& content_type) {
  if (path.empty() || path[0] != '/')
    throw Error(Error::Kind::kInvalidInput,
                "raw request path \"" + path + "\" must start with '/'");
  Impl::Call c{method, path, body, body.empty() ? "" : content_type, is_idempotent(method)};
  HttpResponse resp = impl_->send(c);
  if (!is_success(resp.status))
    throw detail::api_error(method, impl_->url(path), resp.status, resp.body);
  // Plain-text endpoints (/healthz, /readyz) come back as a JSON string.
  auto ct = resp.headers.find("content-type");
  bool says_json = ct != resp.headers.end() && ct->second.find("json") != std::string::npos;
  if (!says_json && !json::accept(resp.body)) return json(resp.body);
  return detail::decode_json(method, impl_->url(path), resp.body);
}

}  // namespace ingressx
