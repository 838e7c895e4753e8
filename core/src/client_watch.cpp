// Client::watch: one streamed watch request, split into newline-delimited events.

#include <string_view>

#include "client_impl.h"

namespace ingressx {

namespace {

// Splits a byte stream into lines (an event may span chunks) and turns them into events.
class EventDecoder {
 public:
  EventDecoder(const std::string& url, const std::function<bool(const WatchEvent&)>& on_event)
      : url_(url), on_event_(on_event) {}

  // Returns false when on_event asked to stop.
  bool feed(const char* data, size_t len) {
    buffer_.append(data, len);
    size_t start = 0;
    for (size_t nl; (nl = buffer_.find('\n', scanned_)) != std::string::npos;) {
      std::string_view line(buffer_.data() + start, nl - start);
      start = scanned_ = nl + 1;
      if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      if (!deliver(line)) return false;
    }
    buffer_.erase(0, start);
    scanned_ = buffer_.size();
    return true;
  }

 private:
  bool deliver(std::string_view line) {
    json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object() || !j.contains("type") || !j["type"].is_string())
      throw Error(Error::Kind::kDecode,
                  "GET " + url_ + ": watch event is not a JSON event: " + detail::snippet(line));
    WatchEvent ev;
    ev.type = j["type"].get<std::string>();
    if (auto it = j.find("object"); it != j.end()) ev.object = std::move(*it);
    if (ev.type == "ERROR") throw detail::status_error("GET", url_, ev.object, 500);
    return on_event_(ev);
  }

  const std::string& url_;
  const std::function<bool(const WatchEvent&)>& on_event_;
  std::string buffer_;
  size_t scanned_ = 0;  // bytes of buffer_ known to hold no newline
};

}  // namespace

void Client::watch(const ResourceRef& r, const std::string& ns, const ListOptions& opts,
                   const std::function<bool(const WatchEvent&)>& on_event,
                   const std::function<bool()>& cancelled) {
  Impl::Call c{"GET", detail::with_query(r.path(ns), detail::list_query(opts, /*watch=*/true)), "",
               "", true};
  const std::string url = impl_->url(c.path);
  for (int attempt = 1;; ++attempt) {
    detail::Credentials creds = impl_->auth.credentials();
    HttpRequest req = impl_->build(c, creds, std::chrono::milliseconds(0));
    ++impl_->requests;
    EventDecoder decoder(url, on_event);
    HttpResponse resp = impl_->transport->stream(
        req, [&decoder](const char* data, size_t len) { return decoder.feed(data, len); },
        cancelled);
    if (resp.status == 401 && attempt == 1 && impl_->auth.invalidate(creds)) continue;
    if (resp.status != 0 && (resp.status < 200 || resp.status >= 300))
      throw detail::api_error("GET", url, resp.status, resp.body);
    return;
  }
}

}  // namespace ingressx
