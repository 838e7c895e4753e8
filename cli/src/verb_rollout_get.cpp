// rollout get FLEET [--watch]: the tree of steps, traffic, drains, connections, analysis.
#include <iostream>

#include "output.h"
#include "rollout_view.h"
#include "session.h"

namespace ingressx::cli {

int rollout_get(const Globals& g, const GetOptions& o) {
  check_output_flag(g.output, false);
  WaitOptions w;
  w.timeout = parse_flag_duration(o.timeout, "--timeout");
  w.poll = parse_flag_duration(o.poll, "--poll-interval");
  if (w.poll.count() <= 0) w.poll = std::chrono::milliseconds(1000);
  Session s(g);
  json fleet = s.get_fleet(o.fleet);
  auto rollout = s.current_rollout(fleet);
  if (structured_output(g)) {
    // -o: the fleet and its current rollout as a List.
    std::vector<json> items{fleet};
    if (rollout) items.push_back(*rollout);
    print_objects(std::cout, g, items, true);
    return kExitOk;
  }
  if (!o.watch) {
    std::cout << render_tree(fleet, rollout ? &*rollout : nullptr);
    return kExitOk;
  }
  w.min_generation = fleet["metadata"].value("generation", int64_t{0});
  w.tree = true;
  return wait_for_rollout(s, o.fleet, w);
}

}  // namespace ingressx::cli
