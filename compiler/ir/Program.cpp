// Scheduling helpers shared by the backends and the interpreter.
#include "compiler/ir/Program.hpp"

namespace nfc {

std::vector<NodeId> topological_order(const Graph& g, const std::vector<NodeId>& roots) {
  // Iterative DFS: flows with many layers make graphs too deep for recursion.
  std::vector<NodeId> order;
  std::vector<char> state(g.size(), 0);  // 0 new, 1 on stack, 2 done
  std::vector<std::pair<NodeId, size_t>> stack;
  for (NodeId root : roots) {
    if (state[static_cast<size_t>(root)]) continue;
    stack.push_back({root, 0});
    state[static_cast<size_t>(root)] = 1;
    while (!stack.empty()) {
      auto& [id, next] = stack.back();
      const Node& n = g.node(id);
      if (next < n.args.size()) {
        const NodeId arg = n.args[next++];
        if (!state[static_cast<size_t>(arg)]) {
          state[static_cast<size_t>(arg)] = 1;
          stack.push_back({arg, 0});
        }
        continue;
      }
      state[static_cast<size_t>(id)] = 2;
      order.push_back(id);
      stack.pop_back();
    }
  }
  return order;
}

}  // namespace nfc
