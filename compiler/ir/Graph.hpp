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

#include "abi/ParamTensor.hpp"

namespace nfc {

enum class Op : uint8_t {
#define NFC_UNARY(op, spelling, expr) op,
#define NFC_BINARY(op, spelling, expr) op,
#define NFC_TERNARY(op, spelling, expr) op,
#define NFC_SPECIAL(op, spelling) op,
#include "compiler/ir/Ops.def"
};

const char* op_spelling(Op op);
// Number of operands of an elementwise op (1, 2 or 3); 0 for structural ops.
int elementwise_arity(Op op);
bool is_elementwise(Op op);
// Scalar evaluation of an elementwise op (unused operands are ignored): its
// Ops.def formula in double (OpFormula.hpp).
double eval_elementwise(Op op, double a, double b = 0, double c = 0);

using NodeId = int32_t;

// Which elements of its matrix operand a matvec (or matvec_t) reads: element
// (r, c) of the rows x cols operand is matrix[offset + r * stride + c]
// (stride 0 means cols: a dense row-major matrix). With row_lengths, row r
// has only its first row_lengths[r] columns (non-decreasing lengths, a
// "staircase" such as a MADE mask with rows sorted by degree); the elements
// past them are structural zeros that the runtime keeps at 0, so a backend
// may read them as zeros or skip them.
struct MatrixView {
  int64_t offset = 0;
  int stride = 0;
  std::vector<int> row_lengths;
};

struct Node {
  Op op = Op::constant;
  int len = 1;
  std::vector<NodeId> args;
  double value = 0;          // constant
  int index = 0;             // input, var, param: which one
  int rows = 0, cols = 0;    // matvec, matvec_t
  int64_t offset = 0;        // matvec, matvec_t: the view's first element (MatrixView)
  int stride = 0;            // matvec, matvec_t: the view's row stride
  std::vector<int> indices;  // gather, scatter: indices; matvec, matvec_t: row lengths

  bool operator==(const Node&) const = default;
};

// The matrix view of a matvec or matvec_t node.
MatrixView view_of(const Node& n);

// The sequential direction of a MADE-conditioned autoregressive layer as one
// loop over positions (Ops.def: made_sequence). Layers are the MADE's dense
// layers (hidden..., output), each reading its input's first row_lengths[r]
// values in row r; hidden rows are sorted by degree and position k computes
// the rows of degree k (degrees[r] == k) of each hidden layer, then output
// rows k P .. k P + P - 1, then u_k = `step`, an elementwise expression in
// the placeholder vars `raw` (the P outputs) and `target` (v_k).
struct MadeSequence {
  struct Layer {
    int rows = 0, cols = 0;
    std::vector<int> row_lengths;
    std::vector<int> degrees;  // hidden layers: per row, non-decreasing
    bool residual = false;     // adds the previous hidden layer, row for row
    // The first layer's columns before its loop input: a conditional MADE's
    // context, whose contribution is already in the bias operand (then a
    // computed node, not a parameter). Row r reads columns
    // first_col .. first_col + row_lengths[r] - 1 of w.
    int first_col = 0;
  };
  int dim = 0, params_per_dim = 0;
  Op act = Op::relu;
  std::vector<Layer> layers;
  std::vector<NodeId> raw;
  NodeId target = -1;
  NodeId step = -1;

  // Operand positions of made_sequence, {v, w1, b1, ..., wL, bL}, and of
  // made_adjoint, {au, araw, sraw, d per hidden layer, w per layer}.
  static size_t weights_arg(size_t l) { return 1 + 2 * l; }
  static size_t bias_arg(size_t l) { return 2 + 2 * l; }
  static size_t slope_arg(size_t l) { return 3 + l; }
  size_t adjoint_weights_arg(size_t l) const { return 2 + layers.size() + l; }

  // The tables the backends loop over, derived from the layers: for hidden
  // layer l, its rows of degree k are [starts[k], starts[k + 1]) and read the
  // first prefixes[k] inputs; the outputs of position k read the first
  // output_prefixes()[k] units of the last hidden layer.
  std::vector<int> degree_starts(size_t l) const;
  std::vector<int> degree_prefixes(size_t l) const;
  std::vector<int> output_prefixes() const;
};

// Parameter tensors (abi/ParamTensor.hpp): values at [offset, offset + size)
// of the flat parameter buffer; matrices row-major with shape {rows, cols}.
class Graph {
 public:
  // Leaves.
  NodeId constant(double value);
  NodeId input(int index, int len);
  NodeId var(int index, int len = 1);
  NodeId param(int tensor);
  int add_param(std::string name, std::vector<int> shape, double init_bound = 0);
  void set_param_init(int tensor, std::vector<double> values);
  void set_param_row_lengths(int tensor, std::vector<int> row_lengths);
  // ParamTensor::keep_lo/keep_hi (narrowed to the intersection when kept
  // twice; the first reason given is kept) and ParamTensor::constrained.
  void keep_param_range(int tensor, double lo, double hi, std::string kept_for);
  void mark_param_constrained(int tensor);
  void mark_param_data(int tensor);    // ParamTensor::data
  int add_var_name(std::string name);  // returns the new var's index

  // Elementwise operations (broadcasting operands of length 1).
  NodeId unary(Op op, NodeId a);
  NodeId binary(Op op, NodeId a, NodeId b);
  NodeId select_pos(NodeId cond, NodeId if_pos, NodeId otherwise);

  // Structural operations.
  NodeId matvec(NodeId matrix, NodeId v, int rows, int cols, MatrixView view = {});
  NodeId gather(NodeId v, std::vector<int> indices);
  NodeId concat(const std::vector<NodeId>& parts);
  NodeId sum(NodeId v);
  NodeId matvec_t(NodeId matrix, NodeId a, int rows, int cols, MatrixView view = {});
  NodeId scatter(NodeId a, std::vector<int> indices, int len);
  NodeId broadcast(NodeId a, int len);
  // The x with f(x) = target (see Ops.def): f and dfdx are expressions in
  // the placeholder var x.
  NodeId solve(NodeId target, NodeId f, NodeId dfdx, NodeId x);
  // The sequence `made` (added with add_made_sequence) on v: args {v, w1, b1,
  // ..., wL, bL} with the layers' parameter nodes.
  NodeId made_sequence(NodeId v, const std::vector<NodeId>& weights, int made);
  int add_made_sequence(MadeSequence s);
  // The reverse sweep of sequence `made` (Ops.def: made_adjoint): args
  // {au, araw, sraw, slopes (one per hidden layer), weights (w per layer)}.
  NodeId made_adjoint(NodeId au, NodeId araw, NodeId sraw, const std::vector<NodeId>& slopes,
                      const std::vector<NodeId>& weights, int made);
  const MadeSequence& made_sequence_info(int index) const {
    return made_sequences_.at(static_cast<size_t>(index));
  }

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
  NodeId fold_select(NodeId cond, NodeId if_pos, NodeId otherwise);
  NodeId into_zero_select(Op op, NodeId a, NodeId b);

  // Folding rewrites call the factories again (|a*b| = |a|*|b| on each
  // factor, a select's branches), so folding recurses. Two guards keep it
  // linear and shallow on any input: a request already answered is answered
  // from `folded_` (over a DAG whose nodes share operands, a rewrite would
  // otherwise run once per path: exponentially often), and past
  // kMaxFoldDepth nested rewrites a node is kept as written.
  NodeId recall(const Node& request) const;
  NodeId remember(Node request, NodeId result);
  template <class Fold>
  NodeId guarded_fold(Fold fold);
  static constexpr int kMaxFoldDepth = 256;

  std::vector<Node> nodes_;
  std::unordered_map<Node, NodeId, NodeHash> interned_;
  std::unordered_map<Node, NodeId, NodeHash> folded_;  // factory request -> result
  int fold_depth_ = 0;
  std::vector<ParamTensor> params_;
  int64_t param_count_ = 0;
  std::vector<std::string> var_names_;
  std::vector<MadeSequence> made_sequences_;
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
