// Dependency propagation: every element of every node carries the set of
// layer inputs it reads, as a bitset, computed operands first.
#include "compiler/analysis/Structure.hpp"

#include <algorithm>
#include <cstdint>
#include <unordered_map>

#include "compiler/ir/Program.hpp"

namespace nfc {

namespace {

struct Bits {
  std::vector<uint64_t> words;
  explicit Bits(int n = 0) : words(static_cast<size_t>((n + 63) / 64), 0) {}
  void set(int i) { words[static_cast<size_t>(i / 64)] |= uint64_t{1} << (i % 64); }
  bool test(int i) const { return (words[static_cast<size_t>(i / 64)] >> (i % 64)) & 1; }
  void merge(const Bits& o) {
    for (size_t k = 0; k < words.size(); ++k) words[k] |= o.words[k];
  }
};

// One set per element of a node, or a single set standing for every element
// when they are all equal (after a matvec or a sum, and elementwise ops on
// such nodes): a conditioner's hidden layers then cost one set, not one per
// unit, which keeps wide networks over large dims in bounded memory.
using Lanes = std::vector<Bits>;

const Bits& lane_of(const Lanes& a, int k) {
  return a.size() == 1 ? a[0] : a[static_cast<size_t>(k)];
}

Lanes propagate(const Node& n, const std::unordered_map<NodeId, Lanes>& deps, int dim,
                const Graph& g) {
  auto lane = [&](NodeId arg, int k) -> const Bits& { return lane_of(deps.at(arg), k); };
  if (is_elementwise(n.op) || n.op == Op::solve) {  // solve is elementwise in its operands
    const bool uniform =
        std::all_of(n.args.begin(), n.args.end(), [&](NodeId a) { return deps.at(a).size() == 1; });
    Lanes out(uniform ? 1 : static_cast<size_t>(n.len), Bits(dim));
    for (size_t k = 0; k < out.size(); ++k)
      for (NodeId a : n.args) out[k].merge(lane(a, static_cast<int>(k)));
    return out;
  }
  if (n.op == Op::made_sequence) {
    // u_k reads v_0..v_k; the raw outputs of position k read v_0..v_{k-1}.
    const int D = g.len(n.args[0]), P = (n.len - D) / D;
    Lanes out(static_cast<size_t>(n.len), Bits(dim));
    Bits prefix(dim);
    for (int k = 0; k < D; ++k) {
      for (int p = 0; p < P; ++p) out[static_cast<size_t>(D + k * P + p)] = prefix;
      prefix.merge(lane(n.args[0], k));
      out[static_cast<size_t>(k)] = prefix;
    }
    return out;
  }
  if (n.op == Op::matvec && !n.indices.empty()) {
    // A staircase: row r reads only the first row_lengths[r] elements.
    Lanes out(static_cast<size_t>(n.rows), Bits(dim));
    Bits prefix(dim);
    int read = 0;
    for (int r = 0; r < n.rows; ++r) {
      for (; read < n.indices[static_cast<size_t>(r)]; ++read) prefix.merge(lane(n.args[1], read));
      out[static_cast<size_t>(r)] = prefix;
    }
    return out;
  }
  if (n.op == Op::matvec || n.op == Op::matvec_t || n.op == Op::sum || n.op == Op::broadcast) {
    Bits all(dim);  // every output element reads every element of the vector
    for (const Bits& b : deps.at(n.args.back())) all.merge(b);
    return Lanes(1, std::move(all));
  }
  if (n.op == Op::made_adjoint) {  // a reverse sweep: conservatively, everything reads all
    Bits all(dim);
    for (NodeId a : n.args)
      for (const Bits& b : deps.at(a)) all.merge(b);
    return Lanes(1, std::move(all));
  }
  // Leaves other than the layer input (constants, parameters: a weight
  // matrix is one leaf of rows x cols elements) read nothing.
  if (n.args.empty()) return Lanes(1, Bits(dim));
  Lanes out(static_cast<size_t>(n.len), Bits(dim));
  if (n.op == Op::gather) {
    for (int k = 0; k < n.len; ++k)
      out[static_cast<size_t>(k)] = lane(n.args[0], n.indices[static_cast<size_t>(k)]);
  } else if (n.op == Op::concat) {
    size_t k = 0;
    for (NodeId a : n.args)
      for (int i = 0; i < g.len(a); ++i) out[k++] = lane(a, i);
  } else if (n.op == Op::scatter) {
    for (size_t k = 0; k < n.indices.size(); ++k)
      out[static_cast<size_t>(n.indices[k])].merge(lane(n.args[0], int(k)));
  }
  return out;
}

}  // namespace

DependencyMatrix dependency_matrix(const Graph& g, NodeId output, NodeId input) {
  const int dim = g.len(input);
  std::unordered_map<NodeId, Lanes> deps;
  for (NodeId id : topological_order(g, {output})) {
    if (id == input) {
      Lanes own(static_cast<size_t>(dim), Bits(dim));
      for (int i = 0; i < dim; ++i) own[static_cast<size_t>(i)].set(i);
      deps[id] = std::move(own);
    } else {
      deps[id] = propagate(g.node(id), deps, dim, g);
    }
  }
  const Lanes& out = deps.at(output);
  DependencyMatrix m(static_cast<size_t>(g.len(output)),
                     std::vector<bool>(static_cast<size_t>(dim)));
  for (size_t j = 0; j < m.size(); ++j)
    for (int i = 0; i < dim; ++i) m[j][static_cast<size_t>(i)] = lane_of(out, int(j)).test(i);
  return m;
}

TriangularityFailure check_triangular(const DependencyMatrix& deps, const std::vector<int>& order) {
  std::vector<int> position(order.size());
  for (size_t p = 0; p < order.size(); ++p) position[static_cast<size_t>(order[p])] = int(p);
  using Kind = TriangularityFailure::Kind;
  for (int j : order) {
    const auto& row = deps[static_cast<size_t>(j)];
    for (int i : order)
      if (row[static_cast<size_t>(i)] &&
          position[static_cast<size_t>(i)] > position[static_cast<size_t>(j)])
        return {Kind::depends_on_later, j, i};
    if (!row[static_cast<size_t>(j)]) return {Kind::no_diagonal, j, j};
  }
  return {};
}

bool is_permutation_of(const DependencyMatrix& deps, const std::vector<int>& perm) {
  for (size_t j = 0; j < deps.size(); ++j)
    for (size_t i = 0; i < deps[j].size(); ++i)
      if (deps[j][i] != (int(i) == perm[j])) return false;
  return true;
}

}  // namespace nfc
