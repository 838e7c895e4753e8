#pragma once
// kubectl-ingressx: the verbs and their options. Light on purpose (no CLI11, no client):
// main.cpp is the only file that sees CLI11; each verb_*.cpp implements one verb.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace ingressx::cli {

// Exit codes (docs/cli.md).
enum Exit : int {
  kExitOk = 0,       // done
  kExitFailed = 1,   // failed, aborted, rolled back; or an API error / unknown object
  kExitUsage = 2,    // bad usage or input
  kExitTimeout = 3,  // timed out (or not done yet with --watch=false)
  kExitPaused = 4,   // paused waiting for promotion (when waiting for completion)
};

// A failure with the exit code it maps to; main prints "error: <message>".
class CliError : public std::runtime_error {
 public:
  CliError(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

// kubectl's global flags.
struct Globals {
  std::string kubeconfig, context, cluster, user, namespace_, as;
  std::vector<std::string> as_groups;
  std::string request_timeout = "0";
  bool all_namespaces = false;
  std::string output;  // "", json, yaml, name, wide, jsonpath=TEMPLATE
};

struct StartOptions {
  std::string fleet;
  std::vector<std::string> images;  // CONTAINER=IMAGE
  std::string file;                 // template patch (YAML or JSON), "-" for stdin
  std::string strategy;             // TempFleet | BlueGreen
  bool wait = false;
  std::string timeout = "0";
  std::string poll = "1s";
};

struct StatusOptions {
  std::string fleet;
  bool watch = true;
  std::string timeout = "0";
  std::string until = "completed";  // completed | paused | shifted | drained
  std::string poll = "1s";
};

struct GetOptions {
  std::string fleet;
  bool watch = false;
  std::string timeout = "0";
  std::string poll = "1s";
};

struct UndoOptions {
  std::string fleet;
  int64_t to_revision = 0;  // 0 = the revision before status.currentRevision
};

struct HistoryOptions {
  std::string fleet;
  int64_t revision = 0;  // 0 = the table
};

int rollout_start(const Globals& g, const StartOptions& o);
int rollout_status(const Globals& g, const StatusOptions& o);
int rollout_get(const Globals& g, const GetOptions& o);
int rollout_pause(const Globals& g, const std::string& fleet);
int rollout_resume(const Globals& g, const std::string& fleet);
int rollout_promote(const Globals& g, const std::string& fleet);
int rollout_abort(const Globals& g, const std::string& fleet);
int rollout_retry(const Globals& g, const std::string& fleet);
int rollout_undo(const Globals& g, const UndoOptions& o);
int rollout_history(const Globals& g, const HistoryOptions& o);
int rollout_list(const Globals& g);
int fleet_list(const Globals& g);
int fleet_get(const Globals& g, const std::vector<std::string>& names);
int fleet_describe(const Globals& g, const std::string& name);
int traffic(const Globals& g, const std::string& fleet);
int lint(const Globals& g, const std::vector<std::string>& files);
int version(const Globals& g);
int completion(const std::string& shell);
// kubectl 1.26+ plugin completion (kubectl_complete-ingressx) and the shell scripts: cobra's
// protocol, candidates one per line then ":<directive>". `words` are the arguments after
// `kubectl ingressx`, the last one the word being completed.
int complete(const Globals& g, const std::vector<std::string>& words);

// The version string (also for `version -o json`).
const char* version_string();

}  // namespace ingressx::cli
