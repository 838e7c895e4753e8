#include "ingressx/proxy/clone.h"

#include "ingressx/core/error.h"

namespace ingressx::proxy {
namespace {

using nlohmann::json;

constexpr const char* kDefaultElectionId = "ingress-controller-leader";

// A flag found in an argument list: its index and value ("--f=v" or "--f v").
struct Flag {
  size_t index = 0;
  size_t width = 1;  // arguments it takes: 1 for --f=v, 2 for --f v
  std::string value;
};

std::optional<Flag> find_flag(const std::vector<std::string>& args, const std::string& name) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i].rfind(name + "=", 0) == 0) return Flag{i, 1, args[i].substr(name.size() + 1)};
    if (args[i] == name) {
      if (i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0) return Flag{i, 2, args[i + 1]};
      return Flag{i, 1, "true"};
    }
  }
  return std::nullopt;
}

void remove_flag(std::vector<std::string>& args, const std::string& name) {
  while (auto f = find_flag(args, name)) {
    args.erase(args.begin() + static_cast<long>(f->index),
               args.begin() + static_cast<long>(f->index + f->width));
  }
}

void set_flag(std::vector<std::string>& args, const std::string& name, const std::string& value) {
  auto f = find_flag(args, name);
  if (!f) {
    args.push_back(name + "=" + value);
    return;
  }
  args[f->index] = name + "=" + value;
  if (f->width == 2) args.erase(args.begin() + static_cast<long>(f->index + 1));
}

std::vector<std::string> string_args(const json& container, const char* field) {
  std::vector<std::string> out;
  if (!container.contains(field)) return out;
  const auto& a = container[field];
  if (!a.is_array()) {
    throw Error(Error::Kind::kInvalidInput,
                std::string("container.") + field + ": expected an array");
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (!a[i].is_string()) {
      throw Error(Error::Kind::kInvalidInput, std::string("container.") + field + "[" +
                                                  std::to_string(i) + "]: expected a string");
    }
    out.push_back(a[i].get<std::string>());
  }
  return out;
}

void check(const json& container, const CloneOptions& opts) {
  if (!container.is_object())
    throw Error(Error::Kind::kInvalidInput, "container: expected an object");
  if (opts.suffix.empty())
    throw Error(Error::Kind::kInvalidInput, "clone: suffix must not be empty");
}

// The rewrites themselves, over one argument list.
std::vector<std::string> rewrite_args(std::vector<std::string>& args, const CloneOptions& opts) {
  std::vector<std::string> changes;
  auto id = find_flag(args, "--election-id");
  std::string old_id = id ? id->value : kDefaultElectionId;
  std::string new_id = old_id + "-" + opts.suffix;
  set_flag(args, "--election-id", new_id);
  changes.push_back("--election-id: " + old_id + " -> " + new_id);
  if (opts.publish_service) {
    set_flag(args, "--publish-service", *opts.publish_service);
    changes.push_back("--publish-service=" + *opts.publish_service);
  } else {
    remove_flag(args, "--publish-service");
    remove_flag(args, "--publish-status-address");
    set_flag(args, "--update-status", "false");
    changes.push_back("--update-status=false (the primary fleet keeps the Ingress status)");
  }
  return changes;
}

}  // namespace

CloneResult clone_ingress_nginx(const json& container, const CloneOptions& opts) {
  check(container, opts);
  CloneResult r{container, {}};
  // Charts pass flags in args; some images put them in command after the binary.
  auto args = string_args(container, "args");
  auto command = string_args(container, "command");
  bool in_command = !find_flag(args, "--election-id") && find_flag(command, "--election-id");
  auto& target = in_command ? command : args;
  r.changes = rewrite_args(target, opts);
  r.container[in_command ? "command" : "args"] = target;
  return r;
}

CloneResult clone_unchanged(const json& container, const CloneOptions& opts) {
  check(container, opts);
  return {container, {}};
}

}  // namespace ingressx::proxy
