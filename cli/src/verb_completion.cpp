// completion bash|zsh|fish, and __complete: cobra's completion protocol, used by those
// scripts and by kubectl 1.26+ through the kubectl_complete-ingressx executable.
#include <iostream>
#include <map>
#include <set>

#include "session.h"

namespace ingressx::cli {

namespace {

// cobra.ShellCompDirective
constexpr int kDirectiveDefault = 0;  // let the shell complete file names
constexpr int kDirectiveNoFileComp = 4;

const std::set<std::string> kValueFlags = {
    "--kubeconfig", "--context",         "--cluster", "--user",        "-n",
    "--namespace",  "--request-timeout", "--as",      "--as-group",    "-o",
    "--output",     "--image",           "-f",        "--filename",    "--strategy",
    "--timeout",    "--poll-interval",   "--until",   "--to-revision", "--revision"};

const std::vector<std::string> kGlobalFlags = {
    "--kubeconfig",      "--context", "--cluster",  "--user",   "--namespace", "--all-namespaces",
    "--request-timeout", "--as",      "--as-group", "--output", "--help"};

const std::map<std::string, std::vector<std::string>> kVerbFlags = {
    {"rollout start",
     {"--image", "--filename", "--strategy", "--wait", "--timeout", "--poll-interval"}},
    {"rollout status", {"--watch", "--timeout", "--until", "--poll-interval"}},
    {"rollout get", {"--watch", "--timeout", "--poll-interval"}},
    {"rollout undo", {"--to-revision"}},
    {"rollout history", {"--revision"}},
    {"lint", {"--filename"}},
};

// Verbs that take a fleet name, and whether they take several.
const std::map<std::string, bool> kFleetVerbs = {
    {"rollout start", false},   {"rollout status", false}, {"rollout get", false},
    {"rollout pause", false},   {"rollout resume", false}, {"rollout promote", false},
    {"rollout abort", false},   {"rollout retry", false},  {"rollout undo", false},
    {"rollout history", false}, {"fleet get", true},       {"fleet describe", false},
    {"traffic", false}};

std::vector<std::string> fleet_names(const Globals& g) {
  std::vector<std::string> out;
  try {
    Globals q = g;
    q.request_timeout = "5s";
    Session s(q);
    json list = s.client().list(kProxyFleets, s.ns());
    for (const auto& f : list.value("items", json::array()))
      out.push_back(f["metadata"].value("name", ""));
  } catch (const std::exception&) {
    // No cluster, no candidates.
  }
  return out;
}

std::vector<std::string> namespaces(const Globals& g) {
  std::vector<std::string> out;
  try {
    Globals q = g;
    q.request_timeout = "5s";
    Session s(q);
    json list = s.client().list(refs::kNamespaces, "");
    for (const auto& n : list.value("items", json::array()))
      out.push_back(n["metadata"].value("name", ""));
  } catch (const std::exception&) {
  }
  return out;
}

int emit(const std::vector<std::string>& candidates, const std::string& prefix, int directive) {
  for (const auto& c : candidates)
    if (c.rfind(prefix, 0) == 0) std::cout << c << "\n";
  std::cout << ":" << directive << "\n";
  return kExitOk;
}

}  // namespace

int complete(const Globals& parsed, const std::vector<std::string>& words) {
  Globals g = parsed;
  std::string partial = words.empty() ? "" : words.back();
  std::vector<std::string> positionals;
  std::string pending_flag;  // the previous word is a flag waiting for its value
  for (size_t i = 0; i + 1 < words.size(); ++i) {
    const std::string& w = words[i];
    if (!pending_flag.empty()) {
      if (pending_flag == "--kubeconfig") g.kubeconfig = w;
      if (pending_flag == "--context") g.context = w;
      if (pending_flag == "--cluster") g.cluster = w;
      if (pending_flag == "--user") g.user = w;
      if (pending_flag == "-n" || pending_flag == "--namespace") g.namespace_ = w;
      pending_flag.clear();
      continue;
    }
    if (w.size() > 1 && w[0] == '-') {
      auto eq = w.find('=');
      std::string name = w.substr(0, eq);
      if (eq != std::string::npos) {
        std::string value = w.substr(eq + 1);
        if (name == "--kubeconfig") g.kubeconfig = value;
        if (name == "--context") g.context = value;
        if (name == "-n" || name == "--namespace") g.namespace_ = value;
      } else if (kValueFlags.count(name)) {
        pending_flag = name;
      }
      continue;
    }
    positionals.push_back(w);
  }
  if (!pending_flag.empty()) {
    if (pending_flag == "-o" || pending_flag == "--output")
      return emit({"json", "yaml", "name", "wide", "jsonpath="}, partial, kDirectiveNoFileComp);
    if (pending_flag == "--until")
      return emit({"completed", "paused", "shifted", "drained"}, partial, kDirectiveNoFileComp);
    if (pending_flag == "--strategy")
      return emit({"TempFleet", "BlueGreen"}, partial, kDirectiveNoFileComp);
    if (pending_flag == "-n" || pending_flag == "--namespace")
      return emit(namespaces(g), partial, kDirectiveNoFileComp);
    if (pending_flag == "-f" || pending_flag == "--filename" || pending_flag == "--kubeconfig")
      return emit({}, partial, kDirectiveDefault);
    return emit({}, partial, kDirectiveNoFileComp);
  }
  std::string verb;
  size_t args_after_verb = 0;
  if (!positionals.empty()) {
    verb = positionals[0];
    args_after_verb = positionals.size() - 1;
    if ((verb == "rollout" || verb == "fleet") && positionals.size() >= 2) {
      verb += " " + positionals[1];
      args_after_verb = positionals.size() - 2;
    }
  }
  if (!partial.empty() && partial[0] == '-') {
    std::vector<std::string> flags = kGlobalFlags;
    if (auto it = kVerbFlags.find(verb); it != kVerbFlags.end())
      flags.insert(flags.end(), it->second.begin(), it->second.end());
    return emit(flags, partial, kDirectiveNoFileComp);
  }
  if (positionals.empty())
    return emit({"rollout", "fleet", "traffic", "lint", "version", "completion"}, partial,
                kDirectiveNoFileComp);
  if (verb == "rollout")
    return emit({"start", "status", "get", "pause", "resume", "promote", "abort", "retry", "undo",
                 "history", "list"},
                partial, kDirectiveNoFileComp);
  if (verb == "fleet") return emit({"list", "get", "describe"}, partial, kDirectiveNoFileComp);
  if (verb == "completion" && args_after_verb == 0)
    return emit({"bash", "zsh", "fish"}, partial, kDirectiveNoFileComp);
  if (auto it = kFleetVerbs.find(verb);
      it != kFleetVerbs.end() && (it->second || args_after_verb == 0)) {
    return emit(fleet_names(g), partial, kDirectiveNoFileComp);
  }
  return emit({}, partial, kDirectiveNoFileComp);
}

int completion(const std::string& shell) {
  if (shell == "bash") {
    std::cout
        << R"sh(# bash completion for kubectl-ingressx: source <(kubectl-ingressx completion bash)
_kubectl_ingressx() {
  local cur="${COMP_WORDS[COMP_CWORD]}" out directive
  out="$(kubectl-ingressx __complete "${COMP_WORDS[@]:1:COMP_CWORD-1}" "$cur" 2>/dev/null)"
  directive="${out##*:}"
  out="${out%:*}"
  if [ "$directive" = 0 ]; then
    COMPREPLY=($(compgen -f -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$out" -- "$cur"))
  fi
}
complete -F _kubectl_ingressx kubectl-ingressx
)sh";
  } else if (shell == "zsh") {
    std::cout << R"sh(#compdef kubectl-ingressx
# zsh completion for kubectl-ingressx: source <(kubectl-ingressx completion zsh)
_kubectl_ingressx() {
  local -a out
  local directive
  out=("${(@f)$(kubectl-ingressx __complete "${(@)words[2,CURRENT-1]}" "${words[CURRENT]}" 2>/dev/null)}")
  directive="${out[-1]#:}"
  out=("${(@)out[1,-2]}")
  if [[ "$directive" == 0 ]]; then
    _files
  else
    compadd -- "${out[@]}"
  fi
}
compdef _kubectl_ingressx kubectl-ingressx
)sh";
  } else {
    std::cout
        << R"sh(# fish completion for kubectl-ingressx: kubectl-ingressx completion fish | source
function __kubectl_ingressx_complete
    set -l args (commandline -opc)
    set -e args[1]
    set -l out (kubectl-ingressx __complete $args (commandline -ct) 2>/dev/null)
    set -e out[-1]
    printf '%s\n' $out
end
complete -c kubectl-ingressx -f -a '(__kubectl_ingressx_complete)'
)sh";
  }
  return kExitOk;
}

}  // namespace ingressx::cli
