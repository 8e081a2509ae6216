// MAF and IAF layers: a MADE in two evaluation orders, and the transformer
// applied in one pass or solved position by position.
#include "compiler/layers/Autoregressive.hpp"

#include <algorithm>
#include <numeric>
#include <unordered_map>

#include "compiler/analysis/Derive.hpp"
#include "compiler/analysis/LoopBodies.hpp"
#include "compiler/layers/FlowGraph.hpp"
#include "compiler/layers/Mlp.hpp"
#include "compiler/sema/Permutations.hpp"

namespace nfc {

std::vector<int> made_hidden_degrees(int dim, int width) {
  std::vector<int> degrees(static_cast<size_t>(width));
  const int64_t span = std::max(dim - 1, 0);
  for (int j = 0; j < width; ++j)
    degrees[static_cast<size_t>(j)] =
        span == 0 ? 0 : 1 + static_cast<int>(int64_t{j} * span / width);
  return degrees;
}

namespace {

// Number of values in the sorted `degrees` that are <= `limit`.
int count_at_most(const std::vector<int>& degrees, int limit) {
  return static_cast<int>(std::upper_bound(degrees.begin(), degrees.end(), limit) -
                          degrees.begin());
}

// A MADE with hidden units sorted by degree. Its inputs are the context
// c_0..c_{C-1} (degree 0: every unit may read them), then u_0..u_{D-1}
// (degrees 1..D), so every first-layer row reads a prefix: the context and
// the u it may see. Its outputs are P per position, row k * P + p for
// parameter p of position k (degree k + 1, reading inputs of degree <= k).
class Made {
 public:
  // Stops after the tensor that takes the graph past max_params, declaring
  // nothing more (declared() is then false).
  Made(Graph& g, const AutoregressiveSpec& spec, int params_per_dim, int layer_index, int dim,
       NodeId context, int64_t max_params)
      : g_(g),
        dim_(dim),
        P_(params_per_dim),
        act_(activation_op(spec.net.act)),
        context_(context),
        C_(context < 0 ? 0 : g.len(context)) {
    std::vector<int> widths = spec.net.hidden;
    widths.push_back(dim * params_per_dim);
    dense_ = declare_dense_layers(g, "layer" + std::to_string(layer_index) + ".net.", C_ + dim,
                                  widths, max_params);
    if (dense_.empty()) return;
    // Degrees of each layer's inputs, and each row's threshold: a row reads
    // the inputs of degree <= threshold (hidden unit: its degree; output of
    // position k: k).
    std::vector<int> in_degrees(size_t(C_), 0);
    for (int d : iota(dim, 1)) in_degrees.push_back(d);
    for (size_t l = 0; l < dense_.size(); ++l) {
      const bool output = l + 1 == dense_.size();
      std::vector<int> thresholds;
      if (output) {
        for (int k = 0; k < dim; ++k) thresholds.insert(thresholds.end(), size_t(P_), k);
      } else {
        thresholds = made_hidden_degrees(dim, dense_[l].rows);
      }
      std::vector<int> lengths;
      for (int t : thresholds) lengths.push_back(count_at_most(in_degrees, t));
      g.set_param_row_lengths(dense_[l].w_tensor, lengths);
      thresholds_.push_back(thresholds);
      row_lengths_.push_back(std::move(lengths));
      in_degrees = thresholds;
      residual_.push_back(spec.residual && l > 0 && !output &&
                          dense_[l].rows == dense_[l - 1].rows);
    }
  }

  bool declared() const { return !dense_.empty(); }
  int params_per_dim() const { return P_; }

  // The loop form of the sequential pass (Ops.def: made_sequence), given
  // the per-position step over placeholder vars.
  MadeSequence sequence(std::vector<NodeId> raw, NodeId target, NodeId step) const {
    MadeSequence s;
    s.dim = dim_;
    s.params_per_dim = P_;
    s.act = act_;
    for (size_t l = 0; l < dense_.size(); ++l) {
      MadeSequence::Layer layer;
      layer.rows = dense_[l].rows;
      layer.cols = dense_[l].cols;
      layer.row_lengths = row_lengths_[l];
      if (l == 0) {  // the loop's input is u; the context goes into the bias (weights())
        for (int& n : layer.row_lengths) n -= C_;
        layer.first_col = C_;
      }
      if (l + 1 < dense_.size()) layer.degrees = thresholds_[l];
      layer.residual = residual_[l];
      s.layers.push_back(std::move(layer));
    }
    s.raw = std::move(raw);
    s.target = target;
    s.step = step;
    return s;
  }

  // The made_sequence operands: each layer's weights and bias, the first
  // bias with the context's share, b1 + W1[:, :C] c, added once per sample.
  std::vector<NodeId> weights() const {
    std::vector<NodeId> w;
    for (const DenseLayer& d : dense_) {
      w.push_back(d.w);
      w.push_back(d.b);
    }
    if (C_ > 0) {
      const DenseLayer& d = dense_.front();
      w[1] = g_.binary(Op::add, d.b, g_.matvec(d.w, context_, d.rows, C_, {0, d.cols, {}}));
    }
    return w;
  }

  // All outputs at once from the vector u (one masked matvec per layer).
  NodeId outputs(NodeId u) const {
    NodeId h = C_ > 0 ? g_.concat({context_, u}) : u;
    for (size_t l = 0; l < dense_.size(); ++l) {
      const DenseLayer& d = dense_[l];
      const NodeId pre =
          g_.binary(Op::add, g_.matvec(d.w, h, d.rows, d.cols, {0, 0, row_lengths_[l]}), d.b);
      if (l + 1 == dense_.size()) return pre;
      const NodeId a = g_.unary(act_, pre);
      h = residual_[l] ? g_.binary(Op::add, h, a) : a;
    }
    return h;
  }

  // Position by position: hidden units are computed in blocks of equal
  // degree, each block once, as soon as the inputs it reads are known.
  class Sequence {
   public:
    explicit Sequence(const Made& made) : m_(made), blocks_(made.dense_.size() - 1) {}

    // The P raw outputs of position k, given u_0..u_{k-1} (k = 0, 1, ... in
    // turn). Returns them as length-1 nodes.
    std::vector<NodeId> step(int k, const std::vector<NodeId>& u_known) {
      Graph& g = m_.g_;
      for (size_t l = 0; l + 1 < m_.dense_.size(); ++l) {
        const std::vector<int>& degrees = m_.thresholds_[l];
        const int lo = count_at_most(degrees, k - 1), hi = count_at_most(degrees, k);
        if (hi == lo) continue;
        NodeId pre = rows(l, lo, hi, prefix(l, u_known, k));
        NodeId a = g.unary(m_.act_, pre);
        if (m_.residual_[l]) a = g.binary(Op::add, g.concat(block_range(l - 1, lo, hi)), a);
        blocks_[l].push_back({lo, hi, a});
      }
      const size_t out = m_.dense_.size() - 1;
      const NodeId raw = rows(out, k * m_.P_, (k + 1) * m_.P_, prefix(out, u_known, k));
      std::vector<NodeId> values;
      for (int p = 0; p < m_.P_; ++p) values.push_back(g.gather(raw, {p}));
      return values;
    }

   private:
    struct Block {
      int lo, hi;  // rows of the layer
      NodeId value;
    };

    // What rows [lo, hi) of layer l read at step k: the layer's input units
    // of degree <= the rows' threshold, all known by now. -1 if none.
    NodeId prefix(size_t l, const std::vector<NodeId>& u_known, int k) {
      if (l == 0) {
        std::vector<NodeId> parts;
        if (m_.C_ > 0) parts.push_back(m_.context_);
        parts.insert(parts.end(), u_known.begin(), u_known.end());
        return parts.empty() ? -1 : m_.g_.concat(parts);
      }
      std::vector<NodeId> parts;
      for (const Block& b : blocks_[l - 1])
        if (m_.thresholds_[l - 1][size_t(b.lo)] <= k) parts.push_back(b.value);
      return parts.empty() ? -1 : m_.g_.concat(parts);
    }

    // Rows [lo, hi) of dense layer l on `input` (its prefix), plus bias.
    NodeId rows(size_t l, int lo, int hi, NodeId input) {
      Graph& g = m_.g_;
      const DenseLayer& d = m_.dense_[l];
      const NodeId bias = g.gather(d.b, iota(hi - lo, lo));
      if (input < 0) return bias;
      const int cols = g.len(input);
      const NodeId mv = g.matvec(d.w, input, hi - lo, cols, {int64_t{lo} * d.cols, d.cols, {}});
      return g.binary(Op::add, mv, bias);
    }

    // The blocks of layer l covering rows [lo, hi) (equal widths: the same
    // degrees row for row, hence the same blocks).
    std::vector<NodeId> block_range(size_t l, int lo, int hi) const {
      std::vector<NodeId> parts;
      for (const Block& b : blocks_[l])
        if (b.lo >= lo && b.hi <= hi) parts.push_back(b.value);
      return parts;
    }

    const Made& m_;
    std::vector<std::vector<Block>> blocks_;  // per hidden layer, in degree order
  };

 private:
  Graph& g_;
  int dim_, P_;
  Op act_;
  NodeId context_;  // -1: unconditional
  int C_;           // context length
  std::vector<DenseLayer> dense_;
  std::vector<std::vector<int>> thresholds_;   // per layer, per row
  std::vector<std::vector<int>> row_lengths_;  // per layer, per row
  std::vector<bool> residual_;                 // per layer
};

class Autoregressive {
 public:
  Autoregressive(Graph& g, const AutoregressiveSpec& spec, const TransformRules& rules,
                 int layer_index, int dim, NodeId context, int64_t max_params)
      : g_(g),
        spec_(spec),
        rules_(rules),
        dim_(dim),
        made_(g, spec, static_cast<int>(rules.params.size()), layer_index, dim, context,
              max_params) {}

  bool declared() const { return made_.declared(); }

  std::unordered_map<NodeId, NodeId> bind(const std::vector<NodeId>& raw) const {
    return bind_transformer(g_, rules_, raw, spec_.rewrites);
  }

  std::unordered_map<NodeId, NodeId> bind_one_pass(NodeId u) const {
    const NodeId raw = made_.outputs(u);
    const int P = made_.params_per_dim();
    std::vector<NodeId> per_param;
    for (int p = 0; p < P; ++p) {
      std::vector<int> rows;
      for (int k = 0; k < dim_; ++k) rows.push_back(k * P + p);
      per_param.push_back(g_.gather(raw, std::move(rows)));
    }
    return bind(per_param);
  }

  // v = h(u; made(u)) and sum log|dv/du|, u and v in the layer's order.
  std::pair<NodeId, NodeId> one_pass(NodeId u) const {
    auto bound = bind_one_pass(u);
    bound[rules_.x] = u;
    return {substitute(g_, rules_.body, bound), sum_lanes(substitute(g_, rules_.logabs, bound))};
  }

  // Whether the sequential pass can be one made_sequence loop: the
  // transformer's inverse must be elementwise (no numerical solve inside).
  bool has_loop_form() const { return rules_.analytic_inverse; }

  // Whether reverse mode can differentiate the loop too (Gradient.cpp:
  // made_adjoint): its step must not read a trained parameter, whose
  // gradient would be summed over the positions inside the loop.
  bool has_differentiable_loop_form() const {
    if (!has_loop_form()) return false;
    for (NodeId r : made_sequence_step(g_, g_.made_sequence_info(sequence_index())).reads) {
      const Node& n = g_.node(r);
      if (n.op == Op::param && !g_.params()[size_t(n.index)].data) return false;
    }
    return true;
  }

  // The sequential pass as one made_sequence loop.
  std::pair<NodeId, NodeId> sequential_loop(NodeId v) const {
    const int P = made_.params_per_dim();
    const int made = sequence_index();
    const NodeId seq = g_.made_sequence(v, made_.weights(), made);
    const NodeId u = g_.gather(seq, iota(dim_));
    std::vector<NodeId> per_param;
    for (int p = 0; p < P; ++p) {
      std::vector<int> rows;
      for (int k = 0; k < dim_; ++k) rows.push_back(dim_ + k * P + p);
      per_param.push_back(g_.gather(seq, std::move(rows)));
    }
    auto bound = bind(per_param);
    bound[rules_.x] = u;
    return {u, sum_lanes(substitute(g_, rules_.logabs, bound))};
  }

  // The u with v = h(u; made(u)), position by position, and sum log|dv/du|:
  // a graph per position, which reverse mode can differentiate.
  std::pair<NodeId, NodeId> sequential(NodeId v) const {
    Made::Sequence seq(made_);
    std::vector<NodeId> u;
    std::vector<std::vector<NodeId>> raw_per_param(rules_.params.size());
    for (int k = 0; k < dim_; ++k) {
      const std::vector<NodeId> raw = seq.step(k, u);
      auto bound = bind(raw);
      bound[rules_.z] = g_.gather(v, {k});
      u.push_back(substitute(g_, rules_.inverse, bound));
      for (size_t p = 0; p < raw.size(); ++p) raw_per_param[p].push_back(raw[p]);
    }
    std::vector<NodeId> per_param;
    for (const auto& scalars : raw_per_param) per_param.push_back(g_.concat(scalars));
    const NodeId all_u = g_.concat(u);
    auto bound = bind(per_param);
    bound[rules_.x] = all_u;
    return {all_u, sum_lanes(substitute(g_, rules_.logabs, bound))};
  }

  NodeId derivative_on(NodeId probe) const {
    return substitute(g_, rules_.dzdx, bind_one_pass(probe));
  }

 private:
  NodeId sum_lanes(NodeId v) const { return nfc::sum_lanes(g_, v, dim_); }

  // The layer's MadeSequence, added on first use.
  int sequence_index() const {
    if (made_sequence_ < 0) {
      std::vector<NodeId> raw;
      for (int p = 0; p < made_.params_per_dim(); ++p)
        raw.push_back(g_.var(g_.add_var_name("made_raw"), 1));
      const NodeId target = g_.var(g_.add_var_name("made_target"), 1);
      auto bound = bind(raw);
      bound[rules_.z] = target;
      const NodeId step = substitute(g_, rules_.inverse, bound);
      made_sequence_ = g_.add_made_sequence(made_.sequence(raw, target, step));
    }
    return made_sequence_;
  }

  Graph& g_;
  const AutoregressiveSpec& spec_;
  const TransformRules& rules_;
  int dim_;
  Made made_;
  mutable int made_sequence_ = -1;  // built on first use
};

}  // namespace

std::optional<BuiltLayer> build_layer(LayerEnv& env, const AutoregressiveSpec& spec) {
  const TransformRules* rules = env.rules_for(spec.transformer);
  if (!rules) return std::nullopt;
  Graph& g = env.g;
  const int dim = env.flow.dim;
  auto layer = std::make_shared<Autoregressive>(g, spec, *rules, env.index, dim, env.context,
                                                env.max_params);
  if (!layer->declared()) return std::nullopt;  // over max_params: no node made
  const NodeId dzdx = layer->derivative_on(g.var(g.add_var_name("layer_input"), dim));
  const std::optional<Interval> domain = env.check_monotone(*rules, [dzdx] { return dzdx; });
  if (!domain) return std::nullopt;
  const std::vector<int> order = spec.order, back = inverse_permutation(spec.order);
  // In the layer's order, the MAF map is v = h(u) (one pass) and its inverse
  // u = h^-1(v) (sequential); an IAF layer runs them the other way round.
  auto one_pass = [&g, layer, order, back](NodeId in, double sign) {
    auto [out, logdet] = layer->one_pass(g.gather(in, order));
    return std::pair{g.gather(out, back), sign > 0 ? logdet : g.unary(Op::neg, logdet)};
  };
  auto sequential = [&g, layer, order, back](NodeId in, double sign) {
    auto [out, logdet] = layer->sequential(g.gather(in, order));
    return std::pair{g.gather(out, back), sign > 0 ? logdet : g.unary(Op::neg, logdet)};
  };
  auto loop = [&g, layer, order, back](NodeId in, double sign) {
    auto [out, logdet] = layer->sequential_loop(g.gather(in, order));
    return std::pair{g.gather(out, back), sign > 0 ? logdet : g.unary(Op::neg, logdet)};
  };
  // Values: the loop whenever the inverse is elementwise. Gradients: the
  // loop where reverse mode can run it backwards, else a graph per position.
  auto fast_sequential = [layer, loop, sequential](NodeId in, double sign) {
    return layer->has_loop_form() ? loop(in, sign) : sequential(in, sign);
  };
  auto differentiable_sequential = [layer, loop, sequential](NodeId in, double sign) {
    return layer->has_differentiable_loop_form() ? loop(in, sign) : sequential(in, sign);
  };
  BuiltLayer built;
  if (!domain->is_all()) built.domain.assign(size_t(dim), *domain);
  built.order = spec.order;
  LayerMaps& maps = built.maps;
  if (!spec.inverse) {
    maps.forward = [one_pass](NodeId x) { return one_pass(x, +1); };
    maps.inverse = [fast_sequential](NodeId z) -> std::optional<std::pair<NodeId, NodeId>> {
      return fast_sequential(z, -1);
    };
    maps.inverse_for_gradient = [differentiable_sequential](NodeId z) {
      return differentiable_sequential(z, -1);
    };
  } else {
    maps.forward = [fast_sequential](NodeId x) { return fast_sequential(x, -1); };
    maps.forward_for_gradient = [differentiable_sequential](NodeId x) {
      return differentiable_sequential(x, -1);
    };
    maps.inverse = [one_pass](NodeId z) -> std::optional<std::pair<NodeId, NodeId>> {
      return one_pass(z, +1);
    };
  }
  return built;
}

}  // namespace nfc
