// kubectl-ingressx: the kubectl plugin that drives ProxyFleet rollouts (`kubectl ingressx`).
// The only file that uses CLI11; each verb lives in verb_*.cpp. Exit codes: cli.h.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli.h"
#include "ingressx/core/error.h"

namespace ingressx::cli {
namespace {

CLI::Validator output_format() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        if (v == "json" || v == "yaml" || v == "name" || v == "wide") return "";
        if (v.rfind("jsonpath=", 0) == 0 && v.size() > 9) return "";
        return "unknown output format \"" + v + "\": use json, yaml, name, wide or jsonpath=...";
      },
      "json|yaml|name|wide|jsonpath=TEMPLATE", "output format");
}

void add_globals(CLI::App& app, Globals& g) {
  auto group = "Global (kubectl) flags";
  app.add_option("--kubeconfig", g.kubeconfig, "Path to the kubeconfig file")->group(group);
  app.add_option("--context", g.context, "The kubeconfig context to use")->group(group);
  app.add_option("--cluster", g.cluster, "The kubeconfig cluster to use")->group(group);
  app.add_option("--user", g.user, "The kubeconfig user to use")->group(group);
  app.add_option("-n,--namespace", g.namespace_, "The namespace (default: the context's)")
      ->group(group);
  app.add_flag("-A,--all-namespaces", g.all_namespaces, "List across all namespaces")->group(group);
  app.add_option("--request-timeout", g.request_timeout, "Per-request timeout, e.g. 10s (0: none)")
      ->group(group);
  app.add_option("--as", g.as, "Username to impersonate")->group(group);
  app.add_option("--as-group", g.as_groups, "Group to impersonate (repeatable)")->group(group);
  app.add_option("-o,--output", g.output, "Output format: json, yaml, name, wide, jsonpath=...")
      ->check(output_format())
      ->group(group);
}

int run(int argc, char** argv) {
  CLI::App app{
      "Drive zero-downtime ProxyFleet rollouts (ingressx.io).\n\nExit codes: 0 done; 1 "
      "failed, aborted or rolled back; 2 bad usage or input; 3 timed out; 4 paused "
      "waiting for promotion.",
      "kubectl ingressx"};
  app.fallthrough();  // global flags are accepted after the verb too, like kubectl's
  app.require_subcommand(1);
  Globals g;
  add_globals(app, g);
  int rc = kExitOk;

  // rollout ...
  auto* rollout = app.add_subcommand("rollout", "Start, watch and control rollouts");
  rollout->require_subcommand(1);

  StartOptions start;
  auto* cmd = rollout->add_subcommand(
      "start", "Start a rollout: set container images or merge a template patch");
  cmd->add_option("fleet", start.fleet, "The ProxyFleet")->required();
  cmd->add_option("--image", start.images, "CONTAINER=IMAGE (repeatable)");
  cmd->add_option("-f,--filename", start.file,
                  "A pod template patch (YAML or JSON; '-' for stdin), merged into spec.template");
  cmd->add_option("--strategy", start.strategy, "TempFleet or BlueGreen");
  cmd->add_flag("--wait", start.wait, "Wait until the rollout ends; the exit code says how");
  cmd->add_option("--timeout", start.timeout, "With --wait: give up after this long (exit 3)");
  cmd->add_option("--poll-interval", start.poll, "With --wait: how often to look")
      ->capture_default_str();
  cmd->callback([&] { rc = rollout_start(g, start); });

  StatusOptions status;
  cmd = rollout->add_subcommand("status", "Show or wait for the state of a fleet's rollout");
  cmd->add_option("fleet", status.fleet, "The ProxyFleet")->required();
  cmd->add_flag("-w,--watch", status.watch,
                "Wait until done (default); --watch=false looks once (not done: exit 3)");
  cmd->add_option("--timeout", status.timeout, "Give up after this long (exit 3)");
  cmd->add_option("--until", status.until, "completed, paused, shifted or drained")
      ->check(CLI::IsMember({"completed", "paused", "shifted", "drained"}))
      ->capture_default_str();
  cmd->add_option("--poll-interval", status.poll, "How often to look")->capture_default_str();
  cmd->callback([&] { rc = rollout_status(g, status); });

  GetOptions get;
  cmd = rollout->add_subcommand("get",
                                "The rollout tree: steps, traffic, drains, connections, analysis");
  cmd->add_option("fleet", get.fleet, "The ProxyFleet")->required();
  cmd->add_flag("-w,--watch", get.watch, "Keep showing it until the rollout ends");
  cmd->add_option("--timeout", get.timeout, "With --watch: give up after this long (exit 3)");
  cmd->add_option("--poll-interval", get.poll, "With --watch: how often to look")
      ->capture_default_str();
  cmd->callback([&] { rc = rollout_get(g, get); });

  std::string fleet;
  struct Control {
    const char* name;
    const char* help;
    int (*fn)(const Globals&, const std::string&);
  };
  for (const Control& c :
       {Control{"pause", "Pause the fleet's rollout (spec.paused=true)", rollout_pause},
        Control{"resume", "Resume (spec.paused=false)", rollout_resume},
        Control{"promote", "Pass the promotion point or end a step's pause (spec.promote token)",
                rollout_promote},
        Control{"abort", "Abort: traffic back to the known-good fleet (spec.abort=true)",
                rollout_abort},
        Control{"retry", "Run the last failed or aborted rollout again (spec.retry token)",
                rollout_retry}}) {
    cmd = rollout->add_subcommand(c.name, c.help);
    cmd->add_option("fleet", fleet, "The ProxyFleet")->required();
    auto fn = c.fn;
    cmd->callback([&, fn] { rc = fn(g, fleet); });
  }

  UndoOptions undo;
  cmd = rollout->add_subcommand("undo", "Roll back to an earlier revision (spec.undoTo)");
  cmd->add_option("fleet", undo.fleet, "The ProxyFleet")->required();
  cmd->add_option("--to-revision", undo.to_revision,
                  "The revision (default: the one before the current)");
  cmd->callback([&] { rc = rollout_undo(g, undo); });

  HistoryOptions history;
  cmd = rollout->add_subcommand("history", "The fleet's rollouts (revisions)");
  cmd->add_option("fleet", history.fleet, "The ProxyFleet")->required();
  cmd->add_option("--revision", history.revision, "Details of one revision");
  cmd->callback([&] { rc = rollout_history(g, history); });

  cmd = rollout->add_subcommand("list", "FleetRollouts in the namespace (-A: all)");
  cmd->callback([&] { rc = rollout_list(g); });

  // fleet ...
  auto* fleet_cmd = app.add_subcommand("fleet", "List and inspect ProxyFleets");
  fleet_cmd->require_subcommand(1);
  cmd = fleet_cmd->add_subcommand("list", "ProxyFleets in the namespace (-A: all)");
  cmd->callback([&] { rc = fleet_list(g); });
  std::vector<std::string> names;
  cmd = fleet_cmd->add_subcommand("get", "One or more ProxyFleets");
  cmd->add_option("names", names, "The ProxyFleets")->required();
  cmd->callback([&] { rc = fleet_get(g, names); });
  cmd = fleet_cmd->add_subcommand("describe", "A ProxyFleet in detail");
  cmd->add_option("fleet", fleet, "The ProxyFleet")->required();
  cmd->callback([&] { rc = fleet_describe(g, fleet); });

  cmd = app.add_subcommand("traffic", "The current traffic split of a fleet");
  cmd->add_option("fleet", fleet, "The ProxyFleet")->required();
  cmd->callback([&] { rc = traffic(g, fleet); });

  std::vector<std::string> files;
  cmd = app.add_subcommand(
      "lint", "Validate ProxyFleet manifests offline with the CRD's rules (exit 1: invalid)");
  cmd->add_option("-f,--filename", files, "Manifest files (YAML, multi-document; '-' = stdin)")
      ->required();
  cmd->callback([&] { rc = lint(g, files); });

  cmd = app.add_subcommand("version", "Print the plugin's version");
  cmd->callback([&] { rc = version(g); });

  std::string shell;
  cmd = app.add_subcommand("completion", "Print a shell completion script");
  cmd->add_option("shell", shell, "bash, zsh or fish")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh", "fish"}));
  cmd->callback([&] { rc = completion(shell); });

  cmd = app.add_subcommand("__complete", "");  // hidden: cobra's completion protocol
  cmd->group("");
  cmd->prefix_command();
  cmd->allow_extras();
  cmd->fallthrough(false);
  cmd->callback([&] { rc = complete(g, app.get_subcommand("__complete")->remaining()); });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  } catch (const CliError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return e.code();
  } catch (const Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return e.kind() == Error::Kind::kInvalidInput ? kExitUsage : kExitFailed;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitFailed;
  }
  return rc;
}

}  // namespace
}  // namespace ingressx::cli

int main(int argc, char** argv) {
  return ingressx::cli::run(argc, argv);
}
