// A checked model: what sema produces from the AST and graph building
// consumes. Everything here is resolved: repeats are unrolled, masks and
// permutations are explicit index lists, names in expressions are known to
// exist. Source ranges are kept so later passes (structure, inversion) can
// report errors at the user's text.
#pragma once

#include <cmath>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "abi/BaseDistribution.hpp"
#include "abi/DataFormat.hpp"
#include "dsl/Expr.hpp"
#include "dsl/SourceRange.hpp"

namespace nfc {

// z = h(x; params...), elementwise. `body` may use `input` and `params` only.
struct TransformDef {
  std::string name;
  std::string input;                // the transformed variable, e.g. "x"
  std::vector<std::string> params;  // e.g. {"s", "t"}
  ExprPtr body;
  SourceRange loc;  // the transform's name in its definition
};

enum class Activation { relu, tanh, elu, gelu, sigmoid, softplus };

struct MlpSpec {
  std::vector<int> hidden = {64, 64};
  Activation act = Activation::relu;
  SourceRange loc;
};

// `param = expr` inside a coupling block: replaces the conditioner's raw
// output for `param` (e.g. a soft clamp s = 2 * tanh(s / 2)). `expr` may use
// the transform's parameter names, meaning their values before this rewrite.
struct ParamRewrite {
  std::string param;
  ExprPtr expr;
  SourceRange loc;
};

// z[identity_dims] = x[identity_dims];
// z[transformed_dims[i]] = h(x[transformed_dims[i]]; p_1[i], ..., p_k[i])
// where (p_1, ..., p_k) = rewrites(mlp(x[identity_dims])) split in k blocks
// of transformed_dims.size() outputs each (parameter-major).
// The built-in rational-quadratic spline transformer (Durkan et al. 2019,
// nflows' conventions, linear tails): `bins` bins on [-bound, bound], the
// identity outside; 3 bins - 1 parameters per transformed value (bins
// widths, bins heights, bins - 1 interior derivatives), see Spline.hpp.
struct SplineSpec {
  int bins = 8;
  double bound = 3;
  double min_width = 1e-3, min_height = 1e-3, min_derivative = 1e-3;

  bool operator==(const SplineSpec&) const = default;
};

// The elementwise transformer of a layer: a `.nf` transform, or the spline.
struct TransformerSpec {
  int transform = -1;  // index into FlowSpec::transforms, when not a spline
  std::optional<SplineSpec> spline;
};

struct CouplingSpec {
  TransformerSpec transformer;
  std::vector<int> identity_dims;
  std::vector<int> transformed_dims;
  MlpSpec net;
  std::vector<ParamRewrite> rewrites;
};

// A masked autoregressive layer (MAF; IAF when `inverse`), with a MADE
// conditioner (Germain et al. 2015). With u = x in the order `order`
// (u_k = x[order[k]]), the MAF map is
//   z[order[k]] = h(u_k; p_1[k], ..., p_m[k]),  p[k] = rewrites(made(u_0..u_{k-1}))
// (density in one pass; its inverse solves k = 0, 1, ... in turn). An IAF
// layer is exactly the inverse of that map: x -> z solves the sequence,
// z -> x is one pass (sampling in one pass). Parameter layout: docs/language.md.
struct AutoregressiveSpec {
  TransformerSpec transformer;
  std::vector<int> order;  // a permutation of 0..dim-1
  MlpSpec net;             // hidden widths and activation of the MADE
  bool residual = false;   // equal-width hidden layers add their input
  std::vector<ParamRewrite> rewrites;
  bool inverse = false;  // iaf
};

// z_i = T(x_i; p_1[i], ..., p_m[i]) for every dimension, each parameter a
// learnable vector (tensor `layerK.NAME`, shape [dim]) starting at init[j];
// `elementwise exp` and the other one-argument functions are transforms
// without parameters.
struct ElementwiseSpec {
  int transform = -1;        // index into FlowSpec::transforms
  std::vector<double> init;  // per transform parameter
  // Conditional flows: the parameters are outputs of a network of the
  // context (one per parameter and dimension) instead of learnable vectors,
  // after the block's rewrites. A conditional diag_normal base is this
  // layer, last, with the transform `standardize`.
  std::optional<MlpSpec> net;
  std::vector<ParamRewrite> rewrites;
  // Where the input lies, open at both ends, beyond the transform's own
  // domain: dequantize's (0, levels), the range of levels plus noise.
  double lo = -INFINITY, hi = INFINITY;
};

// z = L U x + b with L unit lower triangular, U upper triangular with a
// positive diagonal exp(log_diag): an invertible linear map (Glow's 1x1
// convolution for vectors) whose log-det is sum(log_diag).
struct LinearSpec {};

// z[i] = x[perm[i]].
struct PermuteSpec {
  std::vector<int> perm;
};

// A learnable parameter of hand-written maps: `param a = 1.0 positive`,
// `param c = 0.5 (-1, 1)`, `param w[3] = 0.1`, `param v = [0.1, 0.2]`.
// Constraints are compiled as reparameterisations of an unconstrained
// tensor: positive: a = softplus(raw); (lo, hi): a = lo + (hi - lo) sigmoid(raw).
struct ParamDecl {
  enum class Constraint { none, positive, interval };
  std::string name;
  std::vector<double> init;  // one value per element, within the constraint
  bool is_vector = false;    // declared with [n] or a list: used as name[i]
  Constraint constraint = Constraint::none;
  double lo = 0, hi = 0;  // interval
  SourceRange loc;        // the name in its declaration
};

// `let NAME = expr` inside a map: a named subexpression; later lets and the
// outputs may use it.
struct LetBinding {
  std::string name;
  ExprPtr expr;
  SourceRange loc;
};

// z_j = outputs[j], an expression over the names x0 .. x{dim-1}, the flow's
// and the map's parameters, and the lets (in order).
struct MapSpec {
  std::vector<ExprPtr> outputs;
  std::vector<SourceRange> output_locs;  // where each z_j is defined
  std::vector<ParamDecl> params;         // declared inside this map
  std::vector<LetBinding> lets;          // in source order
};

// ActNorm (Kingma & Dhariwal 2018): z = x * exp(log_scale) + shift per
// dimension, learnable tensors layerK.log_scale and layerK.shift [dim],
// initialised from the first training batch (runtime/Flow: init_from_data).
struct ActNormSpec {};

struct LayerSpec {
  SourceRange loc;    // the layer keyword
  std::string label;  // e.g. "coupling affine", "permute reverse", "map"
  std::variant<CouplingSpec, PermuteSpec, MapSpec, AutoregressiveSpec, ElementwiseSpec, LinearSpec,
               ActNormSpec>
      kind;
};

// `data NAME = "path"` in a target: a table of `rows` x `cols` numbers,
// row-major. Sema records the declaration; the driver reads the file
// (relative paths from the model file's folder) and fills the values. A
// one-column table is a vector of `rows` values; wider ones are used as
// dot(NAME, v), a value per row.
struct DataTable {
  std::string name;
  std::string path;
  SourceRange loc, path_loc;  // the name, the quoted path
  int64_t rows = 0, cols = 0;
  std::vector<double> values;
};

// An unnormalised log-density log p~(x) over the flow's x (variational
// training's aim): `logp`, an expression over x (the vector), x0..x{D-1},
// the tables, the target's parameters and its lets (in order). Values are
// vectors or single numbers (docs/language.md, "Targets").
struct TargetSpec {
  std::string name;
  SourceRange loc;  // the name
  // `target NAME(dim = N)`: names are checked against N (0: the flow's
  // dim); a target is fitted only by a flow of its dim.
  int dim = 0;
  SourceRange dim_loc;
  std::vector<DataTable> data;
  std::vector<ParamDecl> params;  // learnable, trained with the flow
  std::vector<LetBinding> lets;
  ExprPtr logp;
  SourceRange logp_loc;
};

struct FlowSpec {
  std::string name;
  int dim = 0;
  // Conditional flows: every layer may read a context vector c of this
  // length (coupling and MADE conditioners take it as extra inputs, maps
  // name it c0..c{C-1}); the density is p(x | c). 0: unconditional.
  int context_dim = 0;
  // `context_net = mlp(hidden = [...], out = E)`: every conditioner reads
  // the network's E outputs instead of c (maps still name c0..). Its output
  // layer is linear.
  std::optional<MlpSpec> context_net;
  int context_net_out = 0;
  BaseSettings base;
  // `base = diag_normal(net = ...)`: `base` is then N(0, I) behind the last
  // layer, which sema adds (for the summary's header).
  bool conditional_base = false;
  // Integer levels a first `dequantize` layer spreads out, and `image = [H, W, C]`.
  DataFormat format;
  SourceRange loc;
  std::vector<TransformDef> transforms;  // user transforms and the prelude's
  std::vector<ParamDecl> params;         // declared at flow level: every map may use them
  std::vector<LayerSpec> layers;         // in the forward (x -> z) order
  std::vector<TargetSpec> targets;       // declared in the model's file
};

}  // namespace nfc
