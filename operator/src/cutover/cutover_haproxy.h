#pragma once
// Internals of the HAProxy cutover provider that are pure and unit-tested: parsing the
// runtime API's "show servers state" answer and deciding whether a command's answer is an
// error. Private to the operator library (tests add operator/src to their include path).

#include <string>
#include <string_view>
#include <vector>

namespace ingressx::op::haproxy {

// One row of "show servers state BACKEND" (format "1").
struct ServerState {
  std::string backend;
  std::string name;
  std::string addr;
  int port = 0;
  int op_state = 0;     // 0 stopped, 1 starting, 2 running, 3 stopping
  int admin_state = 0;  // SRV_ADMF_* bit set
  int uweight = 0;      // current (user) weight
  int iweight = 0;      // initial weight from the configuration

  bool in_maint() const { return (admin_state & 0x23) != 0; }  // FMAINT, IMAINT, RMAINT
  bool in_drain() const { return (admin_state & 0x18) != 0; }  // FDRAIN, IDRAIN
  // The weight that receives new traffic: 0 in maint or drain or when the server is
  // down (op_state 0), else the user weight.
  int effective_weight() const;
};

// Parses the answer of "show servers state [BACKEND]": the "1" version line, the "# ..."
// header naming the columns, then one line per server. Columns are found by name.
// Throws ingressx::Error(kDecode) naming `source` when the answer is not that format, and
// Error(kNotFound) when HAProxy answered that the backend does not exist.
std::vector<ServerState> parse_servers_state(std::string_view text, const std::string& source);

// True when `answer` to `command` ("set server ...") reports a failure. "set server ...
// state/weight" answer nothing on success; "set server ... addr" answers "IP changed ..."
// or "no need to change ...".
bool is_error_answer(std::string_view command, std::string_view answer);

}  // namespace ingressx::op::haproxy
