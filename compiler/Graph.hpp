// The expression graph: immutable, interned (hash-consed) nodes shared by the
// whole flow. Nodes are built only through Graph's factory, which folds
// constants and applies algebraic identities as it goes, so equal
// subexpressions are one node (CSE by construction) and derived expressions
// stay small. Operations and their per-sample semantics are listed in
// Ops.def.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace nfc {

enum class Op : uint8_t {
#define NFC_UNARY(op, spelling, expr) op,
#define NFC_BINARY(op, spelling, expr) op,
#define NFC_TERNARY(op, spelling, expr) op,
#define NFC_SPECIAL(op, spelling) op,
#include "compiler/Ops.def"
};

const char* op_spelling(Op op);
// Number of operands of an elementwise op (1, 2 or 3); 0 for structural ops.
int elementwise_arity(Op op);
bool is_elementwise(Op op);
// Scalar evaluation of an elementwise op (unused operands are ignored).
double eval_elementwise(Op op, double a, double b = 0, double c = 0);

using NodeId = int32_t;

struct Node {
  Op op = Op::constant;
  int len = 1;
  std::vector<NodeId> args;
  double value = 0;          // constant
  int index = 0;             // input, var, param: which one
  int rows = 0, cols = 0;    // matvec, matvec_t
  std::vector<int> indices;  // gather, scatter

  bool operator==(const Node&) const = default;
};

// A named parameter tensor; its values sit at [offset, offset + size) of the
// flat parameter buffer. Matrices are row-major with shape {rows, cols}.
struct ParamTensor {
  std::string name;
  std::vector<int> shape;
  int64_t offset = 0;
  int64_t size = 0;
  double init_bound = 0;     // initialised uniform in [-init_bound, init_bound] ...
  std::vector<double> init;  // ... unless these exact values are given
};

class Graph {
 public:
  // Leaves.
  NodeId constant(double value);
  NodeId input(int index, int len);
  NodeId var(int index, int len = 1);
  NodeId param(int tensor);
  int add_param(std::string name, std::vector<int> shape, double init_bound = 0);
  void set_param_init(int tensor, std::vector<double> values);
  int add_var_name(std::string name);  // returns the new var's index

  // Elementwise operations (broadcasting operands of length 1).
  NodeId unary(Op op, NodeId a);
  NodeId binary(Op op, NodeId a, NodeId b);
  NodeId select_pos(NodeId cond, NodeId if_pos, NodeId otherwise);

  // Structural operations.
  NodeId matvec(NodeId matrix, NodeId v, int rows, int cols);
  NodeId gather(NodeId v, std::vector<int> indices);
  NodeId concat(const std::vector<NodeId>& parts);
  NodeId sum(NodeId v);
  NodeId matvec_t(NodeId matrix, NodeId a, int rows, int cols);
  NodeId scatter(NodeId a, std::vector<int> indices, int len);
  NodeId broadcast(NodeId a, int len);
  // The x with f(x) = target (see Ops.def): f and dfdx are expressions in
  // the placeholder var x.
  NodeId solve(NodeId target, NodeId f, NodeId dfdx, NodeId x);

  const Node& node(NodeId id) const { return nodes_[static_cast<size_t>(id)]; }
  int len(NodeId id) const { return node(id).len; }
  size_t size() const { return nodes_.size(); }
  bool is_constant(NodeId id, double value) const;
  bool is_constant(NodeId id) const { return node(id).op == Op::constant; }

  const std::vector<ParamTensor>& params() const { return params_; }
  int64_t param_count() const { return param_count_; }
  const std::string& var_name(int index) const { return var_names_[static_cast<size_t>(index)]; }

 private:
  struct NodeHash {
    size_t operator()(const Node& n) const;
  };
  NodeId intern(Node n);
  NodeId fold_unary(Op op, NodeId a);
  NodeId fold_binary(Op op, NodeId a, NodeId b);
  NodeId fold_add(NodeId a, NodeId b);
  NodeId fold_sub(NodeId a, NodeId b);
  NodeId fold_mul(NodeId a, NodeId b);
  NodeId fold_div(NodeId a, NodeId b);
  NodeId fold_pow(NodeId a, NodeId b);
  NodeId into_zero_select(Op op, NodeId a, NodeId b);

  std::vector<Node> nodes_;
  std::unordered_map<Node, NodeId, NodeHash> interned_;
  std::vector<ParamTensor> params_;
  int64_t param_count_ = 0;
  std::vector<std::string> var_names_;
};

// A node handle with operators, so derivation rules read like mathematics:
// `1 - t * t` instead of nested factory calls.
struct Ex {
  Graph* g;
  NodeId id;
};

Ex operator+(Ex a, Ex b);
Ex operator-(Ex a, Ex b);
Ex operator*(Ex a, Ex b);
Ex operator/(Ex a, Ex b);
Ex operator-(Ex a);
Ex operator+(double a, Ex b);
Ex operator+(Ex a, double b);
Ex operator-(double a, Ex b);
Ex operator-(Ex a, double b);
Ex operator*(double a, Ex b);
Ex operator*(Ex a, double b);
Ex operator/(double a, Ex b);
Ex operator/(Ex a, double b);
Ex apply(Op op, Ex a);
Ex pow(Ex a, double b);

}  // namespace nfc
